package health

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/dienstweg/dienstweg/internal/profile"
)

// Detail and diagnosis keys of the office desktop link (issue 20).
const (
	// KeyDesktopSilent: the host took the connection but did not answer
	// the first small request in time — overloaded, the "timeouts".
	KeyDesktopSilent = "health.detail.desktop_silent"
	// KeyLargeFrames: small packets pass, large ones are lost.
	KeyLargeFrames = "health.detail.large_frames"
	// KeyDiagDesktopSlow: the desktop answers, but too slowly to work.
	KeyDiagDesktopSlow = "health.diag.office_desktop_slow"
	// KeyDiagDesktopMTU: the way to the desktop loses large packets.
	KeyDiagDesktopMTU = "health.diag.office_desktop_mtu"
)

// desktopKeys are the keys above, for TranslationKeys.
var desktopKeys = []string{KeyDesktopSilent, KeyLargeFrames, KeyDiagDesktopSlow, KeyDiagDesktopMTU}

// ProbeDesktop checks an office desktop in three steps, each telling one
// kind of trouble apart:
//
//  1. a TCP connection (a handful of tiny packets): if it fails, the
//     desktop host does not answer;
//  2. a small request: RDP's connection request (19 bytes) and its
//     confirm, for a web desktop the TCP connection alone; if the
//     answer does not come, or comes later than slow, the host is
//     overloaded — the "timeouts" people see;
//  3. a large exchange: the TLS handshake (RDP's negotiated security or
//     the web portal's https), whose ClientHello with Go's post-quantum
//     key share and whose certificate flight are full-size packets;
//     for plain http the page itself. If step 2 was quick and this one
//     stalls, the path loses large packets — a tunnel MTU that is too
//     big for a link behind it whose "fragmentation needed" messages do
//     not come back (a PMTU black hole). Small packets pass, so a plain
//     ping or port check calls such a desktop fine while every login
//     screen hangs.
//
// Only the way is tested: no certificate is trusted for anything and
// nothing is sent beyond the handshake.
func ProbeDesktop(ctx context.Context, dial DialFunc, d profile.OfficeDesktop, slow time.Duration) Result {
	start := time.Now()
	c, err := dial(ctx, "tcp", d.HostPort())
	if err != nil {
		return failErr(err) // the check's own diagnosis: does not answer
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}

	large := true // whether step 3 applies
	if d.Kind == profile.DesktopRDP {
		selected, err := rdpNegotiate(c)
		if err != nil {
			r := failErr(err)
			if r.Detail.Key == KeyTimeout {
				r = fail(KeyDesktopSilent, nil)
			}
			r.Diag = KeyDiagDesktopSlow
			return r
		}
		large = selected != 0 // standard RDP security: no TLS to test
	}
	small := time.Since(start)
	if small > slow && slow > 0 {
		// Too slow already; a stalled step 3 would say nothing new.
		r := ok(KeySlow, map[string]string{"Milliseconds": ms(small)})
		r.Slow, r.Latency = true, small
		return r
	}
	if large {
		if err := largeExchange(ctx, c, d); err != nil {
			if r := failErr(err); r.Detail.Key != KeyTimeout {
				return r
			}
			r := fail(KeyLargeFrames, nil)
			r.Diag = KeyDiagDesktopMTU
			return r
		}
	}
	lat := time.Since(start)
	r := ok(KeyLatency, map[string]string{"Milliseconds": ms(lat)})
	if slow > 0 && lat > slow {
		r.Detail.Key, r.Slow = KeySlow, true
	}
	r.Latency = lat
	return r
}

// RDP negotiation ([MS-RDPBCGR] 2.2.1.1 and 2.2.1.2): a TPKT header, an
// X.224 Connection Request and an RDP_NEG_REQ asking for TLS or
// CredSSP.
const (
	rdpNegReq     = 0x01
	rdpNegRsp     = 0x02
	rdpNegFailure = 0x03
	protocolSSL   = 0x01
	protocolHybr  = 0x02
)

// rdpNegotiate sends the connection request and returns the security
// protocol the server selected (0: standard RDP security).
func rdpNegotiate(c net.Conn) (uint32, error) {
	req := []byte{
		0x03, 0x00, 0x00, 19, // TPKT, length 19
		14, 0xe0, 0, 0, 0, 0, 0, // X.224 CR: length indicator, code, dst-ref, src-ref, class
		rdpNegReq, 0, 8, 0, // type, flags, length 8 (little endian)
	}
	req = binary.LittleEndian.AppendUint32(req, protocolSSL|protocolHybr)
	if _, err := c.Write(req); err != nil {
		return 0, fmt.Errorf("sending the RDP connection request: %w", err)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return 0, fmt.Errorf("reading the RDP connection confirm: %w", err)
	}
	n := int(binary.BigEndian.Uint16(hdr[2:]))
	if hdr[0] != 3 || n < 11 || n > 512 {
		return 0, errors.New("not an RDP connection confirm")
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(c, body); err != nil {
		return 0, fmt.Errorf("reading the RDP connection confirm: %w", err)
	}
	if body[1]&0xf0 != 0xd0 {
		return 0, errors.New("not an X.224 connection confirm")
	}
	if len(body) < 7+8 {
		return 0, nil // an old server without negotiation
	}
	neg := body[7:]
	switch neg[0] {
	case rdpNegRsp:
		return binary.LittleEndian.Uint32(neg[4:8]), nil
	case rdpNegFailure:
		return 0, nil
	}
	return 0, errors.New("unknown RDP negotiation answer")
}

// largeExchange is step 3 of ProbeDesktop on the open connection c.
func largeExchange(ctx context.Context, c net.Conn, d profile.OfficeDesktop) error {
	if d.Kind == profile.DesktopRDP || isHTTPS(d.Address) {
		// Only the path is judged here; the client checks the
		// certificate when the employee connects.
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: serverName(d)}) //nolint:gosec // no data is trusted
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS handshake with %s: %w", d.HostPort(), err)
		}
		return nil
	}
	// Plain http (fine inside the tunnel): the page is the large answer.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.Address, nil)
	if err != nil {
		return err
	}
	req.Close = true // the server ends the answer by closing
	if err := req.Write(c); err != nil {
		return fmt.Errorf("sending the request to %s: %w", d.HostPort(), err)
	}
	_, err = io.Copy(io.Discard, io.LimitReader(c, maxProbeBody))
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return err
}

func isHTTPS(address string) bool { return len(address) > 8 && address[:8] == "https://" }

func serverName(d profile.OfficeDesktop) string {
	host, _, _ := net.SplitHostPort(d.HostPort())
	if net.ParseIP(host) != nil {
		return ""
	}
	return host
}
