package gateway

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// The kernel's configuration (wgctrl) says what the UAPI text says: a
// removal removes, an admission replaces the allowed IPs with the
// device's own address.
func TestKernelPeersSayWhatUAPISays(t *testing.T) {
	t.Parallel()
	k1, _ := wgconf.NewPrivateKey()
	k2, _ := wgconf.NewPrivateKey()
	p1, _ := wgconf.PublicKey(k1)
	p2, _ := wgconf.PublicKey(k2)
	changes := []peerChange{
		{PublicKey: p1, AllowedIP: netip.MustParsePrefix("10.77.0.10/32")},
		{PublicKey: p2, Remove: true},
		{PublicKey: p2, AllowedIP: netip.MustParsePrefix("fd00::a/128")},
	}
	uapi, err := uapiPeers(changes)
	if err != nil {
		t.Fatalf("uapiPeers: %v", err)
	}
	kc, err := kernelPeers(changes)
	if err != nil {
		t.Fatalf("kernelPeers: %v", err)
	}
	if kc.PrivateKey != nil || kc.ListenPort != nil || kc.ReplacePeers {
		t.Errorf("peer changes touch the device: %+v", kc)
	}
	blocks := strings.Split(strings.TrimPrefix(uapi, "public_key="), "public_key=")
	if len(blocks) != len(kc.Peers) {
		t.Fatalf("uapi has %d peers, wgctrl %d", len(blocks), len(kc.Peers))
	}
	for i, pc := range kc.Peers {
		hx, _ := wgconf.HexKey(changes[i].PublicKey)
		b := blocks[i]
		if !strings.HasPrefix(b, hx+"\n") || pc.PublicKey.String() != changes[i].PublicKey {
			t.Errorf("peer %d: uapi %q, wgctrl key %s", i, b, pc.PublicKey)
		}
		if got := strings.Contains(b, "remove=true"); got != pc.Remove {
			t.Errorf("peer %d: uapi removes %v, wgctrl %v", i, got, pc.Remove)
		}
		if pc.Remove {
			continue
		}
		if !strings.Contains(b, "replace_allowed_ips=true") || !pc.ReplaceAllowedIPs {
			t.Errorf("peer %d: allowed IPs not replaced in both: %q %+v", i, b, pc)
		}
		if len(pc.AllowedIPs) != 1 || pc.AllowedIPs[0].String() != changes[i].AllowedIP.String() || !strings.Contains(b, "allowed_ip="+changes[i].AllowedIP.String()) {
			t.Errorf("peer %d: allowed IP uapi %q, wgctrl %v, want %s", i, b, pc.AllowedIPs, changes[i].AllowedIP)
		}
	}
	if _, err := kernelPeers([]peerChange{{PublicKey: "nope"}}); err == nil {
		t.Errorf("a bad key was accepted")
	}
}

// The kernel's "never" (1970) reads as the UAPI reader's zero time.
func TestKernelStateReadsAsUAPI(t *testing.T) {
	t.Parallel()
	k, _ := wgtypes.GeneratePrivateKey()
	pub := k.PublicKey()
	hs := time.Date(2026, 3, 2, 9, 0, 0, 5, time.UTC)
	d := kernelState(&wgtypes.Device{ListenPort: 51820, Peers: []wgtypes.Peer{
		{PublicKey: pub, LastHandshakeTime: time.Unix(0, 0), ReceiveBytes: 7},
		{PublicKey: pub, LastHandshakeTime: hs, TransmitBytes: 9},
	}})
	if d.ListenPort != 51820 || len(d.Peers) != 2 {
		t.Fatalf("state = %+v", d)
	}
	if !d.Peers[0].LastHandshake.IsZero() || d.Peers[0].RxBytes != 7 || d.Peers[0].PublicKey != pub.String() {
		t.Errorf("peer without handshake = %+v", d.Peers[0])
	}
	if !d.Peers[1].LastHandshake.Equal(hs) || d.Peers[1].TxBytes != 9 {
		t.Errorf("peer with handshake = %+v", d.Peers[1])
	}
}
