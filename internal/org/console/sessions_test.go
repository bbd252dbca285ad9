package console_test

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// A real gateway of its own reports the device's handshake to the
// portal, and the sessions page names that gateway.
func TestSessionsPageShowsTheDevicesGateway(t *testing.T) {
	t.Parallel()
	o := gatewaytest.Start(t, gatewaytest.Options{Remote: true})
	e := mount(t, o.Portal)
	e.addAccounts(t)
	d := o.Enroll(t, "anna") // authorised for the day
	b := e.client(t)
	if got := b.signIn(e.it, e.it.password); got != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", got)
	}
	page := func() string {
		t.Helper()
		res, body := b.do("GET", "/console/sessions", nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("sessions page: %d", res.StatusCode)
		}
		return html.UnescapeString(body)
	}
	if got := page(); !strings.Contains(got, "noch keine Verbindung") {
		t.Fatalf("before the tunnel is up the page lacks „noch keine Verbindung“:\n%s", got)
	}

	o.WaitAdmitted(t, d, true)
	eng := tunnel.NewUserspace(tunnel.UserspaceOptions{})
	if err := eng.Up(context.Background(), tunnel.FromProfile(d.Reg.Tunnel, d.PrivateKey)); err != nil {
		t.Fatalf("Up: %v", err)
	}
	t.Cleanup(func() { eng.Down() })
	// A request through the tunnel makes the handshake; the gateway
	// reports it within seconds. A wait with a generous bound.
	hc := &http.Client{Transport: &http.Transport{DialContext: eng.DialContext, DisableKeepAlives: true}, Timeout: 5 * time.Second}
	endpoint := o.Portal.Server.Tunnel().GatewayEndpoint
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := hc.Get(gatewaytest.IntranetURL); err == nil {
			resp.Body.Close()
		}
		got := page()
		if strings.Contains(got, endpoint) && strings.Contains(got, "letzter Kontakt vor") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sessions page never named gateway %s:\n%s", endpoint, got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
