package wgconf

import (
	"net/netip"
	"testing"
	"time"
)

func TestKeysRoundTrip(t *testing.T) {
	t.Parallel()
	priv, err := NewPrivateKey()
	if err != nil {
		t.Fatalf("NewPrivateKey: %v", err)
	}
	pub, err := PublicKey(priv)
	if err != nil {
		t.Fatalf("PublicKey: %v", err)
	}
	hx, err := HexKey(pub)
	if err != nil || len(hx) != 64 {
		t.Fatalf("HexKey = %q, %v", hx, err)
	}
	back, err := Base64Key(hx)
	if err != nil || back != pub {
		t.Errorf("Base64Key = %q, %v; want %q", back, err, pub)
	}
	for _, bad := range []string{"", "abc", "AAAA"} {
		if _, err := HexKey(bad); err == nil {
			t.Errorf("HexKey(%q) accepted", bad)
		}
	}
}

func TestParseUAPI(t *testing.T) {
	t.Parallel()
	const pk = "f928d4f6c1b86c12f2562c10b07c555c5c57fd00f59e90c8d8d88767271cbf7c"
	in := "private_key=003ed5d73b55806c30de3f8a7bdab38af13539220533055e635690b8b87ad641\nlisten_port=51820\n" +
		"public_key=" + pk + "\nendpoint=127.0.0.1:4242\nlast_handshake_time_sec=1700000000\nlast_handshake_time_nsec=5\n" +
		"tx_bytes=100\nrx_bytes=200\npersistent_keepalive_interval=25\nallowed_ip=10.77.0.0/16\nprotocol_version=1\nerrno=0\n"
	d, err := ParseUAPI(in)
	if err != nil {
		t.Fatalf("ParseUAPI: %v", err)
	}
	want, _ := Base64Key(pk)
	if d.ListenPort != 51820 || len(d.Peers) != 1 {
		t.Fatalf("device = %+v", d)
	}
	p := d.Peers[0]
	switch {
	case p.PublicKey != want:
		t.Errorf("public key %q, want %q", p.PublicKey, want)
	case p.Endpoint != netip.MustParseAddrPort("127.0.0.1:4242"):
		t.Errorf("endpoint %v", p.Endpoint)
	case !p.LastHandshake.Equal(time.Unix(1700000000, 5)):
		t.Errorf("handshake %v", p.LastHandshake)
	case p.RxBytes != 200 || p.TxBytes != 100:
		t.Errorf("bytes rx %d tx %d", p.RxBytes, p.TxBytes)
	case len(p.AllowedIPs) != 1:
		t.Errorf("allowed ips %v", p.AllowedIPs)
	}
	if _, err := ParseUAPI("errno=22\n"); err == nil {
		t.Errorf("errno=22 accepted")
	}
	d, _ = ParseUAPI("public_key=" + pk + "\nlast_handshake_time_sec=0\nlast_handshake_time_nsec=0\n")
	if !d.Peers[0].LastHandshake.IsZero() {
		t.Errorf("no handshake parsed as %v", d.Peers[0].LastHandshake)
	}
}

// Values wireguard-go never writes were taken as something else: a
// listen port beyond 65535 (found by FuzzParseUAPI), a handshake before
// 1970 or in a later second, an unreadable byte count as 0.
func TestParseUAPIRefusesImpossibleValues(t *testing.T) {
	t.Parallel()
	const peer = "public_key=f928d4f6c1b86c12f2562c10b07c555c5c57fd00f59e90c8d8d88767271cbf7c\n"
	for _, in := range []string{
		"listen_port=100000\n",
		"listen_port=-1\n",
		peer + "last_handshake_time_sec=-5\n",
		peer + "last_handshake_time_sec=1700000000\nlast_handshake_time_nsec=2000000000\n",
		peer + "last_handshake_time_sec=1700000000\nlast_handshake_time_nsec=-1\n",
		peer + "rx_bytes=lots\n",
		peer + "tx_bytes=-1\n",
		peer + "endpoint=somewhere\n",
		peer + "allowed_ip=10.77.0.0\n",
	} {
		if d, err := ParseUAPI(in); err == nil {
			t.Errorf("ParseUAPI(%q) = %+v, want an error", in, d)
		}
	}
}
