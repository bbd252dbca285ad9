package helper

import (
	"fmt"
	"time"

	"golang.zx2c4.com/wireguard/device"

	"github.com/dienstweg/dienstweg/internal/helper/helperapi"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// tunnelSession is what a helper keeps of a running tunnel, on every
// platform; the Linux and the Windows helper differ only in how they put
// it into the system.
type tunnelSession struct {
	cfg  tunnel.Config
	plan tunnel.Plan
	dev  *device.Device
	name string
	dns  string
}

// statusOf reports s as the API shows it; nil is a helper with no tunnel.
func statusOf(s *tunnelSession) helperapi.Status {
	st := helperapi.Status{HandshakeAgeSeconds: -1}
	if s == nil {
		return st
	}
	st.Up, st.Interface, st.Address, st.Endpoint, st.DNS = true, s.name, s.plan.Address, s.plan.Gateway, s.dns
	if u, err := s.dev.IpcGet(); err == nil {
		if ts, err := tunnel.StatsFromUAPI(u, s.cfg.GatewayPublicKey); err == nil {
			st.LastHandshake, st.RxBytes, st.TxBytes = ts.LastHandshake, ts.RxBytes, ts.TxBytes
			if ts.Endpoint.IsValid() {
				st.Endpoint = ts.Endpoint
			}
			if age := ts.HandshakeAge(time.Now()); age >= 0 {
				st.HandshakeAgeSeconds = age.Seconds()
			}
		}
	}
	return st
}

// reconfigure is a reconnect on the same network (e.g. after a network
// change): new keys or endpoint on the same device, and fresh sockets.
func (s *tunnelSession) reconfigure(cfg tunnel.Config, plan tunnel.Plan, uapi string) error {
	if err := s.dev.IpcSet(uapi); err != nil {
		return fmt.Errorf("reconfiguring tunnel: %w", err)
	}
	if err := s.dev.BindUpdate(); err != nil {
		return fmt.Errorf("reopening tunnel sockets: %w", err)
	}
	s.cfg, s.plan = cfg, plan
	return nil
}
