package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/session"
	"github.com/dienstweg/dienstweg/internal/state"
)

// With several gateways, a session whose first gateway is silent goes
// round the list until one answers, past a gateway the engine cannot
// even use (port 0: the move fails before anything is sent), and the
// next session starts with the one that answered.
func TestSessionGoesRoundTheGateways(t *testing.T) {
	t.Parallel()
	var working string
	r := newRig(t, portaltest.Options{}, func(tb testing.TB, opts *session.Options, o *gatewaytest.Office) {
		opts.CheckTimeout = time.Second
		tcfg := o.Portal.Server.Tunnel()
		working = tcfg.GatewayEndpoint
		tcfg.Gateways = []portalsrv.Gateway{
			{Endpoint: "127.0.0.1:9", PublicKey: portaltest.NewWGKey()},
			{Endpoint: "127.0.0.1:0", PublicKey: portaltest.NewWGKey()},
			{Endpoint: tcfg.GatewayEndpoint, PublicKey: tcfg.GatewayPublicKey},
		}
		tcfg.GatewayEndpoint, tcfg.GatewayPublicKey = "", ""
		if err := o.Portal.Server.SetTunnel(tcfg); err != nil {
			tb.Fatalf("SetTunnel: %v", err)
		}
	})
	ctx := context.Background()
	if err := r.ctl.Start(ctx, r.dev.NextCode(t)); err == nil {
		t.Fatalf("Start passed its check through a silent gateway")
	}
	waitState(t, r.ctl, state.Connected, session.KeyConnectedUntil)
	if st, err := r.engine.Stats(); err != nil || st.Endpoint.String() != working {
		t.Fatalf("connected through %v (%v), want the working gateway %s", st.Endpoint, err, working)
	}
	if err := r.ctl.End(ctx); err != nil {
		t.Fatalf("End: %v", err)
	}
	if err := r.ctl.Start(ctx, r.dev.NextCode(t)); err != nil {
		t.Fatalf("second Start, with the gateway that answered last: %v", err)
	}
	if st, err := r.engine.Stats(); err != nil || st.Endpoint.String() != working {
		t.Errorf("second session on %v (%v), want %s", st.Endpoint, err, working)
	}
}
