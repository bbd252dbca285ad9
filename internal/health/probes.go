package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Result is the outcome of one probe.
type Result struct {
	OK     bool
	Detail state.Message
	// Latency is how long the probe took to succeed; zero if unmeasured.
	Latency time.Duration
	// LoginURL is where a captive portal wants the employee to sign in.
	LoginURL string
	// ClockOffset is local minus portal time, set by the portal probe.
	ClockOffset *time.Duration
	// Slow marks an office service that answered, but slower than the
	// threshold.
	Slow bool
	// Diag, if set, replaces the check's own diagnosis key when this
	// result is the first failing link (a portal that answers with a
	// certificate we do not trust is not "not answering").
	Diag string
}

func ok(key string, args map[string]string) Result {
	return Result{OK: true, Detail: state.Message{Key: key, Args: args}}
}

func fail(key string, args map[string]string) Result {
	return Result{Detail: state.Message{Key: key, Args: args}}
}

// failErr classifies a network error into a detail the employee can read.
func failErr(err error) Result {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return fail(KeyTimeout, nil)
	case isRefused(err):
		return fail(KeyRefused, nil)
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return fail(KeyNoRoute, nil)
	case errors.As(err, &dnsErr):
		if dnsErr.IsTimeout {
			return fail(KeyTimeout, nil)
		}
		return fail(KeyNotResolved, nil)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fail(KeyTimeout, nil)
	}
	return fail(KeyFailed, nil)
}

// DialFunc connects like (*net.Dialer).DialContext. The host's dialer and
// the tunnel engine's DialContext both fit, so the same probe runs on
// either side of the tunnel. Implementations must be safe for concurrent
// use.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// LookupFunc resolves a name to addresses, like the tunnel engine's
// LookupHost. Implementations must be safe for concurrent use.
type LookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// HostDial is the host's own dialer.
func HostDial(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// ProbeLocalNetwork checks that some interface is up and carries a
// default route.
func ProbeLocalNetwork(src RouteSource) Result {
	routes, err := src.DefaultRoutes()
	if err != nil {
		return fail(KeyFailed, nil)
	}
	if len(routes) == 0 {
		return fail(KeyNoRoute, nil)
	}
	for _, r := range routes {
		if r.Up {
			return ok(KeyOK, map[string]string{"Interface": r.Interface})
		}
	}
	return fail(KeyInterfaceDown, map[string]string{"Interface": routes[0].Interface})
}

// ProbeInternet connects to targets (host:port) at once and succeeds with
// the first that answers: one unreachable host must not make the whole
// internet look broken.
func ProbeInternet(ctx context.Context, dial DialFunc, targets []string) Result {
	if len(targets) == 0 {
		return fail(KeyFailed, nil)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		d   time.Duration
		err error
	}
	ch := make(chan answer, len(targets))
	start := time.Now()
	for _, t := range targets {
		go func() {
			c, err := dial(ctx, "tcp", t)
			if err == nil {
				c.Close()
			}
			ch <- answer{time.Since(start), err}
		}()
	}
	var first error
	for range targets {
		a := <-ch
		if a.err == nil {
			r := ok(KeyLatency, map[string]string{"Milliseconds": ms(a.d)})
			r.Latency = a.d
			return r
		}
		if first == nil {
			first = a.err
		}
	}
	return failErr(first)
}

// CaptiveProbe is a URL whose answer is known: a hotel or train Wi-Fi
// that intercepts it answers with a redirect or its own login page.
type CaptiveProbe struct {
	// URL is fetched with plain http on purpose: interception of https
	// shows only as a certificate error, without the login page's address.
	URL string
	// WantStatus is the expected status; 0 means 204 if WantBody is
	// empty, else 200.
	WantStatus int
	// WantBody, if set, must be contained in the answer.
	WantBody string
}

// maxProbeBody bounds what a probe reads of an answer.
const maxProbeBody = 64 << 10

// NoRedirects returns an HTTP client that dials with dial, uses no proxy
// or idle connections and does not follow redirects, so a probe sees the
// answer itself and measures a fresh connection each time.
func NoRedirects(dial DialFunc) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:       dial,
			DisableKeepAlives: true,
			// A probe sends nothing secret and only reads the status; the
			// office's internal CA is not part of the profile.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // reachability only
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ProbeCaptive fetches the probe URL without following redirects. The
// expected answer means no captive portal; a redirect or another page
// means one, and LoginURL is where to sign in.
func ProbeCaptive(ctx context.Context, hc *http.Client, p CaptiveProbe) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return fail(KeyFailed, nil)
	}
	req.Header.Set("Cache-Control", "no-cache")
	start := time.Now()
	res, err := hc.Do(req)
	if err != nil {
		return failErr(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxProbeBody))
	if err != nil {
		return failErr(err)
	}
	want := p.WantStatus
	if want == 0 {
		want = http.StatusNoContent
		if p.WantBody != "" {
			want = http.StatusOK
		}
	}
	if res.StatusCode == want && strings.Contains(string(body), p.WantBody) {
		r := ok(KeyOK, nil)
		r.Latency = time.Since(start)
		return r
	}
	login := p.URL
	if loc, err := res.Location(); err == nil && isWeb(loc) {
		login = loc.String()
	}
	r := fail(KeyCaptive, map[string]string{"URL": login})
	r.LoginURL = login
	return r
}

func isWeb(u *url.URL) bool { return (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" }

// PortalClient is the part of the portal client the portal check uses;
// *portal.Client implements it. Safe for concurrent use.
type PortalClient interface {
	// Health returns the portal's time.
	Health(ctx context.Context) (time.Time, error)
}

// ProbePortal asks the portal for its time and returns the clock offset
// (local minus portal), taking the portal's time as of the middle of the
// round trip.
func ProbePortal(ctx context.Context, p PortalClient, now func() time.Time) Result {
	start := now()
	t, err := p.Health(ctx)
	if err != nil {
		return failPortal(err)
	}
	end := now()
	rtt := end.Sub(start)
	off := start.Add(rtt / 2).Sub(t)
	r := ok(KeyLatency, map[string]string{"Milliseconds": ms(rtt)})
	// Beyond authcode.MaxClockSkew the employee's codes start to fail.
	if off > authcode.MaxClockSkew || off < -authcode.MaxClockSkew {
		r.Detail = state.Message{Key: KeyClockOff, Args: clockArgs(off)}
	}
	r.Latency = rtt
	r.ClockOffset = &off
	return r
}

// failPortal classifies a failed portal call. A TLS verification failure
// (the pinned CA did not sign the answer) is said as the wizard says it:
// the connection is not trustworthy, not "the portal does not answer".
// A certificate that looks expired or not yet valid almost always means
// this computer's clock is wrong.
func failPortal(err error) Result {
	switch portal.KindOf(err) {
	case portal.KindCertificate:
		r := fail(KeyUntrusted, nil)
		r.Diag = KeyDiagUntrusted
		return r
	case portal.KindClock:
		r := fail(KeyCertificateClock, nil)
		r.Diag = KeyDiagCertificateClock
		return r
	}
	return failErr(err)
}

// clockArgs says how far and which way the clock is off, in minutes.
func clockArgs(off time.Duration) map[string]string {
	dir := "ahead"
	if off < 0 {
		dir, off = "behind", -off
	}
	return map[string]string{"Minutes": strconv.Itoa(int(off.Round(time.Minute) / time.Minute)), "Direction": dir}
}

// Tunnel is the part of the session's engine the tunnel-side checks use.
// The session engineer's engine fits after a small adapter (LastHandshake
// from its Stats). Implementations must be safe for concurrent use.
type Tunnel interface {
	// LastHandshake is the time of the last completed handshake with the
	// gateway, zero before the first; an error means the tunnel is down.
	LastHandshake() (time.Time, error)
	// DialContext connects through the tunnel only.
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	// LookupHost resolves a name with the office DNS through the tunnel.
	LookupHost(ctx context.Context, host string) ([]netip.Addr, error)
}

// MaxHandshakeAge is how old the last handshake may be while the tunnel
// carries traffic: WireGuard rejects a session key after 180 seconds.
const MaxHandshakeAge = 180 * time.Second

// ProbeGateway checks the tunnel to the gateway. With probeAddr (host:port
// inside the office network, e.g. the office DNS server on port 53) it
// connects through the tunnel, which shows a lost gateway within one probe
// timeout; without it, only the handshake age is judged, which notices a
// loss only after minutes.
func ProbeGateway(ctx context.Context, t Tunnel, probeAddr string, now time.Time) Result {
	hs, err := t.LastHandshake()
	if err != nil {
		return fail(KeyTunnelDown, nil)
	}
	if probeAddr != "" {
		start := time.Now()
		c, err := t.DialContext(ctx, "tcp", probeAddr)
		if err != nil {
			r := failErr(err)
			if r.Detail.Key == KeyRefused {
				// A refusal came back through the tunnel: the gateway works.
				r = ok(KeyLatency, map[string]string{"Milliseconds": ms(time.Since(start))})
				r.Latency = time.Since(start)
			}
			return r
		}
		c.Close()
		d := time.Since(start)
		r := ok(KeyLatency, map[string]string{"Milliseconds": ms(d)})
		r.Latency = d
		return r
	}
	if hs.IsZero() {
		return fail(KeyNoHandshake, nil)
	}
	age := now.Sub(hs)
	args := map[string]string{"Seconds": strconv.Itoa(int(age.Seconds()))}
	if age > MaxHandshakeAge {
		return fail(KeyHandshakeOld, args)
	}
	return ok(KeyHandshake, args)
}

// ProbeOfficeDNS resolves name with the office DNS.
func ProbeOfficeDNS(ctx context.Context, lookup LookupFunc, name string) Result {
	start := time.Now()
	addrs, err := lookup(ctx, name)
	if err != nil {
		return failErr(err)
	}
	if len(addrs) == 0 {
		return fail(KeyNotResolved, nil)
	}
	d := time.Since(start)
	r := ok(KeyResolved, map[string]string{"Name": name, "Address": addrs[0].String(), "Milliseconds": ms(d)})
	r.Latency = d
	return r
}

// ProbeService checks one office service: a TCP connect for kind "tcp",
// a GET for "http" and "https" that any answer below 500 satisfies (a
// login page or 403 still shows the service is up). hc must dial through
// the tunnel (see NoRedirects). An answer slower than slow is marked Slow.
func ProbeService(ctx context.Context, dial DialFunc, hc *http.Client, t profile.HealthTarget, slow time.Duration) Result {
	start := time.Now()
	switch t.Kind {
	case "tcp":
		c, err := dial(ctx, "tcp", t.Address)
		if err != nil {
			return failErr(err)
		}
		c.Close()
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.Address, nil)
		if err != nil {
			return fail(KeyFailed, nil)
		}
		res, err := hc.Do(req)
		if err != nil {
			return failErr(err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxProbeBody))
		res.Body.Close()
		if res.StatusCode >= 500 {
			return fail(KeyHTTPStatus, map[string]string{"Status": strconv.Itoa(res.StatusCode)})
		}
	default:
		return fail(KeyFailed, nil)
	}
	d := time.Since(start)
	r := ok(KeyLatency, map[string]string{"Milliseconds": ms(d)})
	if slow > 0 && d > slow {
		r.Detail.Key = KeySlow
		r.Slow = true
	}
	r.Latency = d
	return r
}

// errString is for logs only.
func errString(r Result) string {
	if r.OK {
		return "ok"
	}
	return fmt.Sprintf("%s %v", r.Detail.Key, r.Detail.Args)
}
