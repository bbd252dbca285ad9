package portalsrv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

func proxyHeader(cmd, fam byte, body []byte) []byte {
	h := append([]byte{}, proxyV2Sig...)
	h = append(h, 0x20|cmd, fam)
	h = binary.BigEndian.AppendUint16(h, uint16(len(body)))
	return append(h, body...)
}

func TestReadProxyV2(t *testing.T) {
	v4 := []byte{192, 0, 2, 7, 127, 0, 0, 1, 0x9c, 0x40, 0x01, 0xbb}
	v6 := make([]byte, 36)
	copy(v6, netip.MustParseAddr("2001:db8::5").AsSlice())
	binary.BigEndian.PutUint16(v6[32:], 443)
	for _, tc := range []struct {
		name string
		in   []byte
		want netip.AddrPort
		ok   bool
		err  bool
	}{
		{"tcp4", proxyHeader(1, 0x11, v4), netip.MustParseAddrPort("192.0.2.7:40000"), true, false},
		{"tcp6", proxyHeader(1, 0x21, v6), netip.MustParseAddrPort("[2001:db8::5]:443"), true, false},
		{"tcp4 with TLVs", proxyHeader(1, 0x11, append(v4, 0x04, 0x00, 0x01, 0x00)), netip.MustParseAddrPort("192.0.2.7:40000"), true, false},
		{"local (health check)", proxyHeader(0, 0x00, nil), netip.AddrPort{}, false, false},
		{"unspec", proxyHeader(1, 0x00, nil), netip.AddrPort{}, false, false},
		{"tcp4 too short", proxyHeader(1, 0x11, v4[:8]), netip.AddrPort{}, false, true},
		{"tcp6 too short", proxyHeader(1, 0x21, v6[:20]), netip.AddrPort{}, false, true},
		{"unknown command", proxyHeader(2, 0x11, v4), netip.AddrPort{}, false, true},
		{"version 1 text", []byte("PROXY TCP4 192.0.2.7 127.0.0.1 40000 443\r\n"), netip.AddrPort{}, false, true},
		{"a TLS ClientHello", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0, 0, 0, 0, 0}, netip.AddrPort{}, false, true},
		{"truncated body", proxyHeader(1, 0x11, v4)[:20], netip.AddrPort{}, false, true},
		{"length beyond bound", append(append([]byte{}, proxyV2Sig...), 0x21, 0x11, 0xff, 0xff), netip.AddrPort{}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := readProxyV2(bytes.NewReader(tc.in))
			if (err != nil) != tc.err || ok != tc.ok || got != tc.want {
				t.Fatalf("readProxyV2 = %v, %v, %v; want %v, %v, error %v", got, ok, err, tc.want, tc.ok, tc.err)
			}
			if err != nil && !errors.Is(err, errProxyHeader) {
				t.Errorf("error %v is not errProxyHeader", err)
			}
		})
	}
}

func FuzzReadProxyV2(f *testing.F) {
	f.Add(proxyHeader(1, 0x11, []byte{192, 0, 2, 7, 127, 0, 0, 1, 0x9c, 0x40, 0x01, 0xbb}))
	f.Add(proxyHeader(0, 0x00, nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		src, ok, err := readProxyV2(bytes.NewReader(in))
		if ok && (err != nil || !src.IsValid()) {
			t.Fatalf("ok with %v, %v", src, err)
		}
	})
}
