package agent

import (
	"context"
	"fmt"

	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
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

// newSession builds the home-office session: the tunnel chooser (the
// system tunnel through the privileged helper, or, where the profile
// allows, the userspace one with its SOCKS proxy) and the controller that
// authorises it at the portal and keeps it up.
func (a *Agent) newSession() (*session.Controller, engine, error) {
	// The policy's tunnel_mode, else the profile's (internal/policy).
	mode := a.currentSettings().String(policy.KeyTunnelMode)
	if a.opts.SystemTunnel {
		mode = profile.TunnelSystem
	}
	eng := &tunnelChooser{
		policy:    mode,
		system:    systemProber{tunnel.NewSystem(tunnel.SystemOptions{Socket: a.opts.HelperSocket, Logger: a.log})},
		userspace: tunnel.NewUserspace(tunnel.UserspaceOptions{SOCKSAddr: a.opts.SOCKSAddr, Logger: a.log}),
		proxy:     a.opts.SOCKSAddr,
		report:    func(t state.Tunnel) { a.setInputs(func(in *inputs) { in.Tunnel = t }) },
		log:       a.log.With("component", "tunnel"),
	}
	a.tunnels = eng
	// Before the first look at the helper, say what the profile allows.
	a.setInputs(func(in *inputs) { in.Tunnel = state.Tunnel{Policy: mode} })
	host := a.opts.Profile.OfficeDNSName
	if host == "" {
		return nil, nil, fmt.Errorf("the profile names no office_dns_name to check the tunnel with")
	}
	ctl, err := session.New(session.Options{
		Portal:     a.portal,
		Keys:       keyringKeys{ks: a.opts.Keyring, problem: a.keyringProblem},
		Engine:     eng,
		CheckURL:   "http://" + host + "/",
		WarnBefore: a.opts.ExpiryWarning,
		Now:        a.opts.Now,
		Logger:     a.log,
	})
	if err != nil {
		return nil, nil, err
	}
	return ctl, eng, nil
}

// projectSession is the session state the employee sees. The session
// owns its phase; while its tunnel works, health's verdict says how well
// (Limited, No internet, Problem). While the supervisor renews the tunnel
// its own words stand, unless the laptop is offline, which explains more.
func projectSession(st session.Status, v health.Verdict) (state.Session, *state.Message) {
	if !st.Running || !v.Active || !v.Decided {
		return st.Phase, st.Detail
	}
	switch {
	case v.Session == state.NoInternet:
		return state.NoInternet, st.Detail
	case st.Phase == state.Connected:
		return v.Session, st.Detail
	}
	return st.Phase, st.Detail
}

// mirrorSession is the one place that copies the session into the store,
// projected with health's verdict, until the state refactor's single
// projection takes it over. It also wires the two components: health
// probes the tunnel while the session runs one, and the session's
// supervisor hears health's verdict about the gateway.
//
// states and verdicts are subscribed before the local API serves, so no
// session started through it slips past; states is nil without a session.
func (a *Agent) mirrorSession(ctx context.Context, states <-chan session.Status, verdicts <-chan health.Verdict) {
	var (
		st      session.Status
		v       health.Verdict
		probing bool // health probes the tunnel
	)
	if a.opts.Session != nil {
		st = a.opts.Session.Status()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case next := <-states:
			renewed := st.Reconnecting && !next.Reconnecting && next.Phase == state.Connected
			st = next
			switch {
			case !probing && st.Running && st.Phase == state.Connected:
				probing = a.tunnelStarted()
			case probing && !st.Running:
				a.health.SessionEnded()
				probing = false
			case renewed:
				// Look again now rather than at the next round, so the
				// projection shows the way back at once.
				a.health.Trigger("tunnel renewed")
			}
		case next := <-verdicts:
			if a.supervisor != nil && next.Active && next.GatewayLost != v.GatewayLost {
				if next.GatewayLost {
					a.supervisor.Signal(session.GatewayLost)
				} else if v.Active {
					a.supervisor.Signal(session.GatewayBack)
				}
			}
			v = next
		}
		phase, detail := projectSession(st, v)
		auth := authorisationOf(st)
		a.store.Update(func(sn *state.Snapshot) {
			sn.Session, sn.Running, sn.Detail, sn.LockedUntil, sn.Authorisation = phase, st.Running, detail, st.LockedUntil, auth
		})
	}
}
