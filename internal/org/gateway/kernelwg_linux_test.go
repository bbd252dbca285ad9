package gateway_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/helper/helpertest"
	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// lineLog keeps log lines for a test to read.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(p))
	return len(p), nil
}

func (l *lineLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "")
}

func (l *lineLog) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.lines {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// Kernel mode in a namespace of its own: where the kernel has the
// WireGuard module, the gateway runs on the kernel's WireGuard (wgctrl)
// and a peer set through it reads back; where it has none (as on the
// machine this was written on), it says so and runs wireguard-go on a
// TUN device, which admits the peer just the same.
func TestKernelModeUsesKernelWireGuardOrFallsBack(t *testing.T) {
	helpertest.NeedRoot(t)
	home := helpertest.NewHome(t)
	key, _ := wgconf.NewPrivateKey()
	peerKey, _ := wgconf.NewPrivateKey()
	peerPub, _ := wgconf.PublicKey(peerKey)
	src := &memSource{}
	src.set([]portalsrv.Peer{{DeviceID: "dev_1", User: "u", PublicKey: peerPub,
		Address: netip.MustParsePrefix("10.77.0.10/32"), Until: time.Now().Add(time.Hour)}}, nil)
	logs := &lineLog{}
	var gw *gateway.Gateway
	err := helpertest.InNetns(home.NS, func() error {
		var err error
		gw, err = gateway.Start(context.Background(), gateway.Config{
			PrivateKey: key, Address: netip.MustParsePrefix("10.77.0.1/16"), Peers: src,
			Kernel: &gateway.KernelOptions{Interface: "dwgw" + home.ID},
			Logger: slog.New(slog.NewTextHandler(logs, nil)),
		})
		return err
	})
	if err != nil {
		t.Fatalf("Start in kernel mode: %v", err)
	}
	defer gw.Close()
	kernelWG := logs.has("mode=\"kernel wireguard\"")
	fellBack := logs.has("no WireGuard kernel module") && logs.has("mode=tun")
	if kernelWG == fellBack {
		t.Fatalf("neither the kernel's WireGuard nor the fallback said so:\n%s", logs.text())
	}
	t.Logf("kernel WireGuard: %v; fell back to wireguard-go on a TUN device: %v\n%s", kernelWG, fellBack, logs.text())
	ps, err := gw.Peers()
	if err != nil {
		t.Fatalf("Peers: %v", err)
	}
	if len(ps) != 1 || ps[0].PublicKey != peerPub || gw.Port() == 0 {
		t.Errorf("peers %+v on port %d, want %s", ps, gw.Port(), peerPub)
	}
	src.set(nil, nil)
	if err := gw.Reconcile(context.Background()); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if ps, _ := gw.Peers(); len(ps) != 0 {
		t.Errorf("peer still there after its end: %+v", ps)
	}
	if err := gw.Close(); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Close: %v", err)
	}
	if out, _ := home.Exec("ip", "link", "show", "dwgw"+home.ID); !strings.Contains(out, "does not exist") {
		t.Errorf("interface left behind: %s", out)
	}
}
