package wgconf

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// FuzzParseUAPI checks that whatever ParseUAPI accepts is a sane device
// (ports, keys, times a wireguard-go answer can have) and reads back
// the same when written out again.
func FuzzParseUAPI(f *testing.F) {
	const pk = "f928d4f6c1b86c12f2562c10b07c555c5c57fd00f59e90c8d8d88767271cbf7c"
	f.Add("private_key=003ed5d73b55806c30de3f8a7bdab38af13539220533055e635690b8b87ad641\nlisten_port=51820\n" +
		"public_key=" + pk + "\nendpoint=127.0.0.1:4242\nlast_handshake_time_sec=1700000000\nlast_handshake_time_nsec=5\n" +
		"tx_bytes=100\nrx_bytes=200\npersistent_keepalive_interval=25\nallowed_ip=10.77.0.0/16\nprotocol_version=1\nerrno=0\n")
	f.Add("public_key=" + pk + "\nendpoint=[fd00::1]:51820\nallowed_ip=fd00::/64\npublic_key=" + pk + "\n")
	f.Add("errno=22\n")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseUAPI(s)
		if err != nil {
			return
		}
		checkDevice(t, d)
		again, err := ParseUAPI(formatUAPI(d))
		if err != nil {
			t.Fatalf("written out again, %+v does not parse: %v", d, err)
		}
		if !sameDevice(d, again) {
			t.Fatalf("round trip changed %+v into %+v", d, again)
		}
	})
}

func checkDevice(t *testing.T, d Device) {
	t.Helper()
	if d.ListenPort < 0 || d.ListenPort > 65535 {
		t.Fatalf("listen port %d", d.ListenPort)
	}
	for _, p := range d.Peers {
		if b, err := base64.StdEncoding.DecodeString(p.PublicKey); err != nil || len(b) != KeyLen {
			t.Fatalf("peer key %q", p.PublicKey)
		}
		if !p.LastHandshake.IsZero() && p.LastHandshake.Unix() <= 0 {
			t.Fatalf("handshake at %v, before wireguard existed", p.LastHandshake)
		}
		for _, a := range p.AllowedIPs {
			if !a.IsValid() {
				t.Fatalf("allowed ip %v", a)
			}
		}
	}
}

// formatUAPI writes d as wireguard-go's IpcGet would.
func formatUAPI(d Device) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen_port=%d\n", d.ListenPort)
	for _, p := range d.Peers {
		k, _ := HexKey(p.PublicKey)
		fmt.Fprintf(&b, "public_key=%s\n", k)
		if p.Endpoint.IsValid() {
			fmt.Fprintf(&b, "endpoint=%s\n", p.Endpoint)
		}
		if !p.LastHandshake.IsZero() {
			fmt.Fprintf(&b, "last_handshake_time_sec=%d\nlast_handshake_time_nsec=%d\n", p.LastHandshake.Unix(), p.LastHandshake.Nanosecond())
		}
		fmt.Fprintf(&b, "rx_bytes=%d\ntx_bytes=%d\n", p.RxBytes, p.TxBytes)
		for _, a := range p.AllowedIPs {
			fmt.Fprintf(&b, "allowed_ip=%s\n", a)
		}
	}
	b.WriteString("errno=0\n")
	return b.String()
}

func sameDevice(a, b Device) bool {
	return a.ListenPort == b.ListenPort && slices.EqualFunc(a.Peers, b.Peers, func(p, q Peer) bool {
		return p.PublicKey == q.PublicKey && p.Endpoint == q.Endpoint && p.LastHandshake.Equal(q.LastHandshake) &&
			p.RxBytes == q.RxBytes && p.TxBytes == q.TxBytes && slices.Equal(p.AllowedIPs, q.AllowedIPs)
	})
}
