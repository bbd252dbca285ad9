package agent

import (
	"context"
	"fmt"

	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// keyringKeys gives the session controller the device's keys, read from
// the keyring when a session starts and kept in memory only. problem
// turns a failed read into the session's terms (a locked keyring, none).
type keyringKeys struct {
	ks      keyring.Store
	problem func(error) error
}

func (k keyringKeys) device() (*enroll.Device, error) {
	ctx, cancel := context.WithTimeout(context.Background(), keyringReadTimeout)
	defer cancel()
	d, err := enroll.LoadDevice(ctx, k.ks)
	if err != nil && k.problem != nil {
		err = k.problem(err)
	}
	return d, err
}

func (k keyringKeys) PrivateKey() (string, error) {
	d, err := k.device()
	if err != nil {
		return "", err
	}
	return d.PrivateKey.Reveal(), nil
}

func (k keyringKeys) Credential() (string, error) {
	d, err := k.device()
	if err != nil {
		return "", err
	}
	return d.Credential.Reveal(), nil
}

// newSession builds the home-office session: the userspace tunnel (with
// its SOCKS proxy for other programs) and the controller that authorises
// it at the portal and keeps it up.
func (a *Agent) newSession() (*session.Controller, engine, error) {
	var eng engine
	if a.opts.SystemTunnel {
		// The privileged helper puts the tunnel into the system: every
		// program reaches the office, no proxy needed.
		eng = tunnel.NewSystem(tunnel.SystemOptions{Socket: a.opts.HelperSocket, Logger: a.log})
	} else {
		eng = tunnel.NewUserspace(tunnel.UserspaceOptions{SOCKSAddr: a.opts.SOCKSAddr, Logger: a.log})
	}
	host := a.opts.Profile.OfficeDNSName
	if host == "" {
		return nil, nil, fmt.Errorf("the profile names no office_dns_name to check the tunnel with")
	}
	ctl, err := session.New(session.Options{
		Portal:   a.portal,
		Keys:     keyringKeys{ks: a.opts.Keyring, problem: a.keyringProblem},
		Engine:   eng,
		Store:    a.store,
		CheckURL: "http://" + host + "/",
		Logger:   a.log,
	})
	if err != nil {
		return nil, nil, err
	}
	return ctl, eng, nil
}
