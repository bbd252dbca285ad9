package health

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/state"
)

// rdpMode is how a fakeRDP host behaves.
type rdpMode int32

const (
	rdpWorks rdpMode = iota
	// rdpSilent takes the connection and never answers: overloaded.
	rdpSilent
	// rdpStallsLarge answers the small request but never the TLS
	// handshake, which is what a path that loses large packets shows.
	// The real black hole is made in the namespace test
	// (internal/desktop/netns_test.go); this one checks the words.
	rdpStallsLarge
	// rdpSlow answers the small request late.
	rdpSlow
)

// fakeRDP is an RDP host on loopback that speaks the negotiation
// ([MS-RDPBCGR] 2.2.1.2) and TLS, as xrdp does with security_layer=tls.
type fakeRDP struct {
	addr string
	mode atomic.Int32
	slow time.Duration
}

func startFakeRDP(tb testing.TB) *fakeRDP {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("Listen: %v", err)
	}
	tb.Cleanup(func() { ln.Close() })
	cert := selfSigned(tb)
	f := &fakeRDP{addr: ln.Addr().String(), slow: 1200 * time.Millisecond}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c, cert)
		}
	}()
	return f
}

func (f *fakeRDP) serve(c net.Conn, cert tls.Certificate) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	mode := rdpMode(f.mode.Load())
	req := make([]byte, 19)
	if _, err := io.ReadFull(c, req); err != nil {
		return
	}
	switch mode {
	case rdpSilent:
		io.Copy(io.Discard, c)
		return
	case rdpSlow:
		time.Sleep(f.slow)
	}
	// Connection confirm selecting TLS.
	cc := []byte{3, 0, 0, 19, 14, 0xd0, 0, 0, 0x12, 0x34, 0, rdpNegRsp, 0, 8, 0}
	cc = binary.LittleEndian.AppendUint32(cc, protocolSSL)
	if _, err := c.Write(cc); err != nil {
		return
	}
	if mode == rdpStallsLarge {
		io.Copy(io.Discard, c)
		return
	}
	tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
	tc.Handshake()
	io.Copy(io.Discard, tc)
}

func selfSigned(tb testing.TB) tls.Certificate {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rds.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func hostDial(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// refusedAddr is a loopback address that refuses connections until the
// test ends: the local port of a connection the test holds open, which no
// listener can take. The port of a closed listener was free for the next
// listener of a parallel test, which then answered (once in 40 runs the
// "refused" desktop was accepted and closed: health.detail.failed).
func refusedAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("Listen: %v", err)
	}
	tb.Cleanup(func() { ln.Close() })
	c, err := net.Dial("tcp", ln.Addr().String()) // the backlog accepts it
	if err != nil {
		tb.Fatalf("Dial: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c.LocalAddr().String()
}

func TestProbeDesktop(t *testing.T) {
	t.Parallel()
	rdp := startFakeRDP(t)
	closed := listen(t) // accepts and closes at once
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 20000)) }))
	t.Cleanup(web.Close)
	webTLS := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(webTLS.Close)
	refused := refusedAddr(t)
	rdpAt := func(addr string) profile.OfficeDesktop {
		return profile.OfficeDesktop{Name: "Arbeitsplatz", Kind: profile.DesktopRDP, Address: addr}
	}
	for _, tc := range []struct {
		name     string
		mode     rdpMode
		d        profile.OfficeDesktop
		ok, slow bool
		detail   string
		diag     string
	}{
		{"works", rdpWorks, rdpAt(rdp.addr), true, false, KeyLatency, ""},
		{"refused_does_not_answer", rdpWorks, rdpAt(refused), false, false, KeyRefused, ""},
		{"closed_at_once", rdpWorks, rdpAt(closed), false, false, KeyFailed, KeyDiagDesktopSlow},
		{"silent_is_overloaded", rdpSilent, rdpAt(rdp.addr), false, false, KeyDesktopSilent, KeyDiagDesktopSlow},
		{"large_packets_lost", rdpStallsLarge, rdpAt(rdp.addr), false, false, KeyLargeFrames, KeyDiagDesktopMTU},
		{"slow_answer", rdpSlow, rdpAt(rdp.addr), true, true, KeySlow, ""},
		{"web_http", rdpWorks, profile.OfficeDesktop{Name: "Web", Kind: profile.DesktopWeb, Address: web.URL + "/"}, true, false, KeyLatency, ""},
		{"web_https", rdpWorks, profile.OfficeDesktop{Name: "Web", Kind: profile.DesktopWeb, Address: webTLS.URL + "/"}, true, false, KeyLatency, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Not parallel: the cases share the fake host's mode.
			rdp.mode.Store(int32(tc.mode))
			// What waits for the timeout gets a short one; the rest a
			// generous one, and "slow" is far from loopback's answers.
			limit := 4 * time.Second
			if tc.mode == rdpSilent || tc.mode == rdpStallsLarge {
				limit = 700 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), limit)
			defer cancel()
			r := ProbeDesktop(ctx, hostDial, tc.d, time.Second)
			if r.OK != tc.ok || r.Slow != tc.slow || r.Detail.Key != tc.detail || r.Diag != tc.diag {
				t.Errorf("result ok=%v slow=%v detail=%s diag=%q, want ok=%v slow=%v detail=%s diag=%q",
					r.OK, r.Slow, r.Detail.Key, r.Diag, tc.ok, tc.slow, tc.detail, tc.diag)
			}
		})
	}
}

// The chain names the desktop in plain words, limits the session while
// it is in trouble and recovers by itself.
func TestMonitorNamesTheDesktop(t *testing.T) {
	t.Parallel()
	rdp := startFakeRDP(t)
	e := newEnv(t, func(_ *Deps, c *Config) {
		c.Desktops = []profile.OfficeDesktop{{Name: "Arbeitsplatz Bürgerbüro", Kind: profile.DesktopRDP, Address: rdp.addr}}
		c.Timing.Timeout = 2 * time.Second
		c.Timing.Every = map[string]time.Duration{OfficeDesktop: 2 * time.Second}
	})
	e.start()
	s := e.view()
	if l := link(t, s.Health, OfficeDesktop, "Arbeitsplatz Bürgerbüro"); !l.OK || len(l.History) == 0 {
		t.Fatalf("desktop link %+v, want OK with a history", l)
	}
	rdp.mode.Store(int32(rdpStallsLarge))
	s = e.steps(6)
	if s.Session != state.Limited || s.Health.Diagnosis == nil || s.Health.Diagnosis.Key != KeyDiagDesktopMTU ||
		s.Health.Diagnosis.Args["Desktop"] != "Arbeitsplatz Bürgerbüro" || s.Health.Diagnosis.Args["Phone"] == "" {
		t.Fatalf("session %v, diagnosis %+v; want limited naming the desktop's large packets", s.Session, s.Health.Diagnosis)
	}
	// An announced maintenance explains it instead.
	e.cover = &Cover{Title: "Wartung der Arbeitsplätze"}
	s = e.steps(1)
	if s.Health.Diagnosis == nil || s.Health.Diagnosis.Key != KeyDiagMaintenance || s.Health.Diagnosis.Args["Title"] != "Wartung der Arbeitsplätze" {
		t.Errorf("with a maintenance announced: diagnosis %+v", s.Health.Diagnosis)
	}
	e.cover = nil
	rdp.mode.Store(int32(rdpWorks))
	s = e.steps(4)
	if s.Session != state.Connected || s.Health.Diagnosis != nil {
		t.Fatalf("after recovery: session %v, diagnosis %+v", s.Session, s.Health.Diagnosis)
	}
}
