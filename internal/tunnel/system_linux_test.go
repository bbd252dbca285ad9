package tunnel_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/helper/helpertest"
	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// TestHelperChild is the helper process of the namespace tests.
func TestHelperChild(t *testing.T) { helpertest.Child(t) }

const homeChildEnv = "DIENSTWEG_TEST_SYSTEM_CHILD"

type homeChild struct {
	Socket string
	Config tunnel.Config
}

// TestSystemEngineInHome runs inside the home namespace, started by
// TestSystemEngineThroughHelper: the engine's own lookups and dials go
// through the TUN device there.
func TestSystemEngineInHome(t *testing.T) {
	js := os.Getenv(homeChildEnv)
	if js == "" {
		t.Skip("runs only inside the home namespace of TestSystemEngineThroughHelper")
	}
	var hc homeChild
	if err := json.Unmarshal([]byte(js), &hc); err != nil {
		t.Fatalf("child options: %v", err)
	}
	e := tunnel.NewSystem(tunnel.SystemOptions{Socket: hc.Socket})
	ctx := context.Background()
	// The tunnel is up already; the same config again is a reconnect.
	if err := e.Up(ctx, hc.Config); err != nil {
		t.Fatalf("Up (reconnect): %v", err)
	}
	addrs, err := e.LookupHost(ctx, "intranet")
	if err != nil || len(addrs) != 1 || addrs[0] != gatewaytest.GatewayAddr {
		t.Fatalf("LookupHost(intranet) = %v, %v; want %v", addrs, err, gatewaytest.GatewayAddr)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: e.DialContext}, Timeout: 20 * time.Second}
	body, err := fetch(c, gatewaytest.IntranetURL)
	if err != nil || !strings.Contains(body, page) {
		t.Fatalf("GET through System.DialContext = %q, %v", body, err)
	}
	if _, err := e.DialContext(ctx, "tcp", "192.0.2.1:80"); !errors.Is(err, tunnel.ErrNotInTunnel) {
		t.Fatalf("DialContext outside the office = %v, want ErrNotInTunnel", err)
	}
}

func curlHome(lab *helpertest.Lab, maxTime, url string) (string, error) {
	return lab.Exec("curl", "-sS", "--max-time", maxTime, url)
}

// TestSystemEngineThroughHelper is the system mode end to end: the
// helper in a home namespace, the gateway and intranet in an office
// namespace, a session authorised with a real authenticator code.
func TestSystemEngineThroughHelper(t *testing.T) {
	helpertest.NeedRoot(t, "curl")
	t.Parallel()
	lab := helpertest.NewLab(t)
	before := lab.Snapshot(t)
	h := lab.StartHelper(t, helpertest.HelperConfig{})
	ctx := context.Background()

	d := lab.Office.Enroll(t, "anna")
	// Start from no authorisation, then authorise as "Start home office"
	// does, with the code of the authenticator app.
	if _, err := d.Client.EndSession(ctx); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	lab.Office.WaitAdmitted(t, d, false)
	if s, err := d.Client.AuthoriseSession(ctx, d.NextCode(t)); err != nil || !s.Authorised {
		t.Fatalf("AuthoriseSession = %+v, %v", s, err)
	}
	lab.Office.WaitAdmitted(t, d, true)

	e := tunnel.NewSystem(tunnel.SystemOptions{Socket: h.Socket})
	if _, err := e.Stats(); !errors.Is(err, tunnel.ErrDown) {
		t.Fatalf("Stats before Up = %v, want ErrDown", err)
	}
	cfg := tunnel.FromProfile(d.Reg.Tunnel, d.PrivateKey)
	if err := e.Up(ctx, cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	t.Cleanup(func() { e.Down() })

	t.Run("curl_by_internal_name", func(t *testing.T) {
		out, err := curlHome(lab, "20", gatewaytest.IntranetURL)
		if err != nil || !strings.Contains(out, page) {
			t.Fatalf("curl %s in home: %v\n%s", gatewaytest.IntranetURL, err, out)
		}
	})
	t.Run("curl_by_short_name_with_search_domain", func(t *testing.T) {
		out, err := curlHome(lab, "20", "http://intranet/")
		if err != nil || !strings.Contains(out, page) {
			t.Fatalf("curl http://intranet/ in home: %v\n%s", err, out)
		}
	})
	t.Run("dns_change_visible", func(t *testing.T) {
		s := lab.Snapshot(t)
		if !strings.Contains(s.ResolvConf, "nameserver 10.77.0.1") || !strings.Contains(s.ResolvConf, "search musterstadt.example home.arpa") {
			t.Errorf("resolv.conf during the session:\n%s", s.ResolvConf)
		}
		if !strings.Contains(s.Routes, "10.77.0.0/16 dev "+h.Interface) {
			t.Errorf("no office route through %s:\n%s", h.Interface, s.Routes)
		}
	})
	t.Run("engine_dial_and_lookup_in_home", func(t *testing.T) {
		js, _ := json.Marshal(homeChild{Socket: h.Socket, Config: cfg})
		exe, _ := os.Executable()
		cmd := exec.Command("ip", "netns", "exec", lab.NS, exe, "-test.run=^TestSystemEngineInHome$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), homeChildEnv+"="+string(js))
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestSystemEngineInHome") {
			t.Fatalf("engine in home namespace: %v\n%s", err, out)
		}
	})
	t.Run("stats", func(t *testing.T) {
		st, err := e.Stats()
		if err != nil {
			t.Fatalf("Stats: %v", err)
		}
		if st.LastHandshake.IsZero() || st.RxBytes == 0 || st.TxBytes == 0 || st.HandshakeAge(time.Now()) < 0 {
			t.Errorf("Stats after traffic = %+v", st)
		}
		hs, err := e.HelperStatus(ctx)
		if err != nil || !hs.Up || hs.Interface != h.Interface || hs.DNS != "file" || hs.HandshakeAgeSeconds < 0 {
			t.Errorf("HelperStatus = %+v, %v", hs, err)
		}
	})

	if err := e.Down(); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if diff := lab.Snapshot(t).Diff(before); diff != "" {
		t.Errorf("after Down the home namespace differs:\n%s", diff)
	}
	if _, err := e.Stats(); !errors.Is(err, tunnel.ErrDown) {
		t.Errorf("Stats after Down = %v, want ErrDown", err)
	}
	if _, err := os.Stat(h.StateDir + "/helper-state.json"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file after Down: %v", err)
	}
	if err := e.Down(); err != nil {
		t.Errorf("second Down: %v", err)
	}
}

// TestSystemUnauthorisedPeerGetsNothing: the helper brings the tunnel
// up for any key, but the gateway lets no packet of an unauthorised
// device through, and cuts a device off when its authorisation ends.
func TestSystemUnauthorisedPeerGetsNothing(t *testing.T) {
	helpertest.NeedRoot(t, "curl")
	t.Parallel()
	lab := helpertest.NewLab(t)
	h := lab.StartHelper(t, helpertest.HelperConfig{})
	ctx := context.Background()
	e := tunnel.NewSystem(tunnel.SystemOptions{Socket: h.Socket})
	t.Cleanup(func() { e.Down() })
	const url = "http://10.77.0.1/"

	t.Run("never_authorised", func(t *testing.T) {
		d := lab.Office.Enroll(t, "carl")
		if _, err := d.Client.EndSession(ctx); err != nil {
			t.Fatalf("EndSession: %v", err)
		}
		lab.Office.WaitAdmitted(t, d, false)
		if err := e.Up(ctx, tunnel.FromProfile(d.Reg.Tunnel, d.PrivateKey)); err != nil {
			t.Fatalf("Up: %v", err)
		}
		hits := lab.Hits.Load()
		if out, err := curlHome(lab, "4", url); err == nil {
			t.Fatalf("an unauthorised device reached the intranet:\n%s", out)
		}
		if st, err := e.Stats(); err != nil || !st.LastHandshake.IsZero() || st.RxBytes != 0 {
			t.Errorf("unauthorised device's stats %+v, %v: want no handshake and nothing received", st, err)
		}
		if lab.Hits.Load() != hits {
			t.Errorf("the intranet saw a request from an unauthorised device")
		}
	})
	t.Run("cut_off_when_authorisation_ends", func(t *testing.T) {
		d := lab.Office.Enroll(t, "dora")
		lab.Office.WaitAdmitted(t, d, true)
		if err := e.Up(ctx, tunnel.FromProfile(d.Reg.Tunnel, d.PrivateKey)); err != nil {
			t.Fatalf("Up: %v", err)
		}
		if out, err := curlHome(lab, "20", url); err != nil || !strings.Contains(out, page) {
			t.Fatalf("authorised device: %v\n%s", err, out)
		}
		s, err := d.Client.SessionStatus(ctx)
		if err != nil || s.Until == nil {
			t.Fatalf("SessionStatus = %+v, %v", s, err)
		}
		lab.Office.Portal.Clock.Set(s.Until.Add(time.Minute))
		lab.Office.WaitAdmitted(t, d, false)
		hits := lab.Hits.Load()
		if out, err := curlHome(lab, "4", url); err == nil {
			t.Fatalf("the device still reached the intranet after its authorisation ended:\n%s", out)
		}
		if lab.Hits.Load() != hits {
			t.Errorf("the intranet saw a request after the authorisation ended")
		}
	})
}
