package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// slowClients measures how many slow clients of one kind the portal holds
// while a normal client is still served within a second. For each level N,
// N attackers keep slow connections to a fresh portal, coming from
// `sources` loopback addresses and reconnecting whenever the portal drops
// them, as a real attacker would. Meanwhile a normal client, from
// 127.0.0.1 and with a fresh TLS connection each time, probes every
// 250 ms. A probe passes when its answer is the expected one (not 503) and
// arrives within 1 s.
//
// Kinds: body (headers sent, body never finished), headers (headers
// trickled), tls (TCP connected, no ClientHello), download (a large
// release file read at 1 KiB/s).
func slowClients(kinds, levels string, hold time.Duration, sources, inflight int) error {
	var ns []int
	for _, s := range strings.Split(levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			return fmt.Errorf("bad level %q", s)
		}
		ns = append(ns, n)
	}
	all := []string{"body", "headers", "tls", "download"}
	ks := all
	if kinds != "all" {
		ks = strings.Split(kinds, ",")
		for _, k := range ks {
			if !slices.Contains(all, k) {
				return fmt.Errorf("unknown kind %q", k)
			}
		}
	}
	if sources < 1 || sources > 250 {
		return fmt.Errorf("sources must be 1..250")
	}
	fmt.Printf("slow clients from %d loopback addresses; normal client probes every 250 ms for %v; pass = expected answer within 1 s\n", sources, hold)
	fmt.Printf("%-9s %7s %13s %9s %8s %8s %6s %8s\n", "kind", "slow", "held (min)", "probes ok", "p50", "max", "503s", "dropped")
	for _, k := range ks {
		for _, n := range ns {
			r, err := slowLevel(k, n, hold, sources, inflight)
			if err != nil {
				return fmt.Errorf("%s at %d: %w", k, n, err)
			}
			fmt.Printf("%-9s %7d %13d %5d/%-3d %8v %8v %6d %8d\n", k, n, r.heldMin, r.ok, r.probes,
				r.p50.Round(time.Millisecond), r.max.Round(time.Millisecond), r.shed, r.dropped)
		}
	}
	return nil
}

type levelResult struct {
	heldMin          int64
	ok, probes, shed int
	p50, max         time.Duration
	dropped          int64
}

const bigFile = 256 << 20

func slowLevel(kind string, n int, hold time.Duration, sources, inflight int) (levelResult, error) {
	var res levelResult
	env, err := startPortal(inflight)
	if err != nil {
		return res, err
	}
	defer env.stop()
	if kind == "download" {
		dir := filepath.Join(env.dir, "releases", "stable")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return res, err
		}
		// Sparse: no disk space, but served like a real binary.
		f, err := os.Create(filepath.Join(dir, "big"))
		if err != nil {
			return res, err
		}
		err = f.Truncate(bigFile)
		f.Close()
		if err != nil {
			return res, err
		}
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(env.ca))
	fmt.Fprintf(os.Stderr, "level %d of %s: portal on %s\n", n, kind, env.url)
	// Attackers skip what costs them CPU but not the portal (verifying its
	// certificate) and resume TLS sessions, as a real attacker would: on
	// one box their CPU is the portal's.
	a := &attacker{kind: kind, addr: strings.TrimPrefix(env.url, "https://"), tlsCfg: &tls.Config{
		InsecureSkipVerify: true,
		ClientSessionCache: tls.NewLRUClientSessionCache(n),
	}}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range n {
		src := net.IPv4(127, 0, 0, byte(2+i%sources))
		wg.Add(1)
		go func() { defer wg.Done(); a.run(ctx, src) }()
	}
	// Ramp up: until (nearly) all are in their slow phase, at most 20 s.
	rampEnd := time.Now().Add(20 * time.Second)
	for a.held.Load() < int64(n)*95/100 && time.Now().Before(rampEnd) {
		time.Sleep(50 * time.Millisecond)
	}

	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		DisableKeepAlives: true, // every probe is a newly arriving client
	}}
	var lats []time.Duration
	res.heldMin = a.held.Load()
	stop := time.Now().Add(hold)
	for time.Now().Before(stop) {
		res.heldMin = min(res.heldMin, a.held.Load())
		for _, p := range probesFor(kind, env.url) {
			res.probes++
			t0 := time.Now()
			status, err := p.do(hc)
			lat := time.Since(t0)
			lats = append(lats, lat)
			switch {
			case err == nil && status == p.want && lat <= time.Second:
				res.ok++
			case status == http.StatusServiceUnavailable:
				res.shed++
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	res.heldMin = min(res.heldMin, a.held.Load())
	res.dropped = a.dropped.Load()
	cancel()
	wg.Wait()
	hc.CloseIdleConnections()
	slices.Sort(lats)
	res.p50, res.max = percentile(lats, 0.5), percentile(lats, 1)
	return res, nil
}

type probe struct {
	method, path, body string
	hdr                []string
	want               int
}

func (p probe) do(hc *http.Client) (int, error) {
	var body io.Reader
	if p.body != "" {
		body = strings.NewReader(p.body)
	}
	req, err := http.NewRequest(p.method, p.path, body)
	if err != nil {
		return 0, err
	}
	for i := 0; i+1 < len(p.hdr); i += 2 {
		req.Header.Set(p.hdr[i], p.hdr[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

func probesFor(kind, base string) []probe {
	if kind == "download" {
		// The first 64 KiB of the update, as a resuming client asks.
		return []probe{{method: "GET", path: base + "/api/v1/releases/stable/files/big", hdr: []string{"Range", "bytes=0-65535"}, want: http.StatusPartialContent}}
	}
	return []probe{
		{method: "GET", path: base + "/api/v1/health", want: http.StatusOK},
		// A complete request that needs an in-flight slot and the store.
		{method: "POST", path: base + "/api/v1/session", body: `{"code":"123456"}`,
			hdr: []string{"Content-Type", "application/json", "Authorization", "Bearer dwd1_unknown"}, want: http.StatusUnauthorized},
	}
}

type attacker struct {
	kind    string
	addr    string
	tlsCfg  *tls.Config
	held    atomic.Int64 // connections in their slow phase now
	dropped atomic.Int64 // slow connections the portal ended
}

func (a *attacker) run(ctx context.Context, src net.IP) {
	for ctx.Err() == nil {
		if !a.once(ctx, src) {
			// Refused or answered: a short pause, as a persistent
			// attacker would make, then again.
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

// once runs one slow connection until the portal ends it or ctx does. It
// reports whether the connection got as far as its slow phase.
func (a *attacker) once(ctx context.Context, src net.IP) bool {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 5 * time.Second}
	if a.kind == "download" {
		// A small receive window, so the reader's pace is what the
		// portal sees, not the kernel's buffers.
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = setReceiveBuffer(fd, 4096)
			})
			return errors.Join(err, serr)
		}
	}
	raw, err := d.DialContext(ctx, "tcp", a.addr)
	if err != nil {
		return false
	}
	defer raw.Close()
	defer context.AfterFunc(ctx, func() { raw.Close() })()

	if a.kind == "tls" {
		// Say nothing: the portal waits for a ClientHello.
		a.held.Add(1)
		raw.Read(make([]byte, 1))
		a.held.Add(-1)
		if ctx.Err() == nil {
			a.dropped.Add(1)
		}
		return true
	}
	c := tls.Client(raw, a.tlsCfg)
	if err := c.HandshakeContext(ctx); err != nil {
		return false
	}
	var req string
	switch a.kind {
	case "body":
		req = "POST /api/v1/session HTTP/1.1\r\nHost: portal\r\nContent-Type: application/json\r\nAuthorization: Bearer dwd1_x\r\nContent-Length: 100\r\n\r\n{\"code\":"
	case "headers":
		req = "GET /api/v1/health HTTP/1.1\r\nHost: portal\r\n"
	case "download":
		req = "GET /api/v1/releases/stable/files/big HTTP/1.1\r\nHost: portal\r\n\r\n"
	}
	if _, err := io.WriteString(c, req); err != nil {
		return false
	}
	if a.kind == "headers" {
		// One more header line a second, never the blank line.
		go func() {
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				if _, err := fmt.Fprintf(c, "X-Slow-%d: 1\r\n", i); err != nil {
					return
				}
			}
		}()
	}
	var rd io.Reader = c
	if a.kind == "download" {
		rd = &pacedReader{r: c, perSecond: 1024}
	}
	br := bufio.NewReaderSize(rd, 1024)
	if a.kind == "download" {
		// Only a download that got its slot is slow; a 503 is an answer.
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			return false
		}
	}
	a.held.Add(1)
	// Any answer or the end of the connection ends the slow phase.
	_, err = br.ReadByte()
	if a.kind == "download" {
		for err == nil {
			_, err = br.ReadByte()
		}
	}
	a.held.Add(-1)
	if ctx.Err() == nil {
		a.dropped.Add(1)
	}
	return true
}

// pacedReader reads at most perSecond bytes a second.
type pacedReader struct {
	r         io.Reader
	perSecond int
}

func (p *pacedReader) Read(b []byte) (int, error) {
	time.Sleep(time.Second)
	return p.r.Read(b[:min(len(b), p.perSecond)])
}
