package office_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/office"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
)

// officeName is the internal host's name in the tests' profile.
const officeName = "buero.musterstadt.example"

// orgCA makes a CA as the demo organisation's portal does, with a server
// certificate for hosts.
func orgCA(tb testing.TB, hosts ...string) *portalsrv.TLSMaterial {
	tb.Helper()
	m, err := portalsrv.LoadOrCreateTLS(tb.TempDir(), hosts, time.Now())
	if err != nil {
		tb.Fatalf("LoadOrCreateTLS: %v", err)
	}
	return m
}

func roots(tb testing.TB, m *portalsrv.TLSMaterial) *x509.CertPool {
	tb.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(m.CAPEM) {
		tb.Fatal("the CA's PEM holds no certificate")
	}
	return pool
}

// serveTLS answers TLS handshakes on loopback with m's certificate until
// the test ends, and returns the address.
func serveTLS(tb testing.TB, m *portalsrv.TLSMaterial) string {
	tb.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", m.Config())
	if err != nil {
		tb.Fatalf("Listen: %v", err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_ = c.(*tls.Conn).Handshake()
				_, _ = c.Read(make([]byte, 1)) // until the client closes
			}()
		}
	}()
	return ln.Addr().String()
}

// Only a certificate of the pinned CA for the named host counts: another
// CA's certificate for the same name (a network that pretends to be the
// office), the right CA's for another name, or no answer do not.
func TestProbeTrustsOnlyThePinnedCA(t *testing.T) {
	t.Parallel()
	org := orgCA(t, officeName)
	stranger := orgCA(t, officeName)
	otherName := orgCA(t, "drucker.musterstadt.example")
	// Nothing listens at the local port of a connection held open, and no
	// listener can take it; the port of a closed listener was free for the
	// next one, such as serveTLS's below.
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		c, err := net.Dial("tcp", ln.Addr().String()) // the backlog accepts it
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.LocalAddr().String()
	}()
	for _, tc := range []struct {
		name     string
		addr     string
		roots    *x509.CertPool
		inOffice bool
		why      string
	}{
		{"office_host", serveTLS(t, org), roots(t, org), true, ""},
		{"other_ca_same_name", serveTLS(t, stranger), roots(t, org), false, "unknown authority"},
		{"right_ca_other_name", serveTLS(t, otherName), roots(t, otherName), false, "not " + officeName},
		{"nothing_listens", closed, roots(t, org), false, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &office.Probe{Address: tc.addr, ServerName: officeName, Roots: tc.roots}
			err := p.Check(context.Background())
			if (err == nil) != tc.inOffice {
				t.Fatalf("Check = %v, want in the office %v", err, tc.inOffice)
			}
			if err != nil && (!errors.Is(err, office.ErrNotOffice) || !strings.Contains(err.Error(), tc.why)) {
				t.Errorf("Check = %v, want ErrNotOffice saying %q", err, tc.why)
			}
		})
	}
}

// blockingChecker's first check hangs until cancelled (a home network
// where nothing answers); later ones find the office.
type blockingChecker struct {
	mu        sync.Mutex
	calls     int
	cancelled chan struct{}
}

func (b *blockingChecker) Check(ctx context.Context) error {
	b.mu.Lock()
	b.calls++
	first := b.calls == 1
	b.mu.Unlock()
	if !first {
		return nil
	}
	<-ctx.Done()
	close(b.cancelled)
	return ctx.Err()
}

// A network change while a check hangs cancels it and checks anew, so a
// move into the office is not held up by the timeout of a check on the
// network before; the hung check's late "no" is never reported.
func TestTriggerCancelsAStaleCheck(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := &blockingChecker{cancelled: make(chan struct{})}
	reports := make(chan bool, 4)
	w := office.NewWatcher(b, time.Hour, func(in bool) { reports <- in }, nil)
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	select {
	case <-w.Known():
		t.Fatal("Known before any check answered")
	case <-time.After(50 * time.Millisecond):
	}
	w.Trigger()
	select {
	case in := <-reports:
		if !in {
			t.Fatal("reported the cancelled check's outcome")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no report after the trigger")
	}
	<-b.cancelled
	// Known closes right after the first report (after, so that whoever
	// waits for it finds the report's effect).
	select {
	case <-w.Known():
	case <-time.After(10 * time.Second):
		t.Error("Known not closed after the first report")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	select {
	case in := <-reports:
		t.Errorf("extra report %v", in)
	default:
	}
}

// One check against the office host on loopback: the cost of the check
// itself, without the route watch's settle time (docs/office.md).
func BenchmarkProbeInOffice(b *testing.B) {
	org := orgCA(b, officeName)
	p := &office.Probe{Address: serveTLS(b, org), ServerName: officeName, Roots: roots(b, org)}
	ctx := context.Background()
	for b.Loop() {
		if err := p.Check(ctx); err != nil {
			b.Fatalf("Check: %v", err)
		}
	}
}
