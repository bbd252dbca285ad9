package tunnel_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/dienstweg/dienstweg/internal/tunnel"
	"github.com/dienstweg/dienstweg/internal/tunnel/wgconf"
)

// needRoot skips without root and the tools, except in CI, where a
// missing precondition is a failure.
func needRoot(tb testing.TB, tools ...string) {
	tb.Helper()
	miss := func(reason string) {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("precondition missing in CI: %s", reason)
		}
		tb.Skipf("skipping: %s", reason)
	}
	if os.Geteuid() != 0 {
		miss("needs root for network namespaces and TUN devices")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		miss("no /dev/net/tun: " + err.Error())
	}
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			miss(t + " not installed (Debian packages wireguard-go, wireguard-tools, iproute2)")
		}
	}
}

func run(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func uniq() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// listenInNetns opens a TCP listener inside the named namespace. The
// socket stays in that namespace when the thread switches back.
func listenInNetns(tb testing.TB, ns, addr string) net.Listener {
	tb.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		tb.Fatalf("netns.Get: %v", err)
	}
	defer orig.Close()
	h, err := netns.GetFromName(ns)
	if err != nil {
		tb.Fatalf("netns.GetFromName: %v", err)
	}
	defer h.Close()
	if err := netns.Set(h); err != nil {
		tb.Fatalf("netns.Set: %v", err)
	}
	ln, lerr := net.Listen("tcp", addr)
	if err := netns.Set(orig); err != nil {
		// The thread is in the wrong namespace: never let it run Go code
		// again (LockOSThread without Unlock kills it at goroutine exit).
		runtime.LockOSThread()
		tb.Fatalf("returning to the original namespace: %v", err)
	}
	if lerr != nil {
		tb.Fatalf("listening in %s: %v", ns, lerr)
	}
	return ln
}

// TestInteropWithWireguardGo runs Debian's wireguard-go, configured by wg,
// on a TUN device in a network namespace joined to this one by veth, and
// the userspace engine here as its peer.
func TestInteropWithWireguardGo(t *testing.T) {
	needRoot(t, "ip", "wg", "wireguard-go")
	id := uniq()
	ns, wgIf, vHost, vNS := "dwt-"+id, "dwwg"+id, "dwh"+id, "dwn"+id
	// A /30 from 10.201.0.0/16 picked from the id keeps parallel runs apart.
	third := int(id[0])%250 + 1
	hostIP := fmt.Sprintf("10.201.%d.1", third)
	nsIP := fmt.Sprintf("10.201.%d.2", third)

	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run(t, "ip", "link", "add", vHost, "type", "veth", "peer", "name", vNS)
	t.Cleanup(func() { exec.Command("ip", "link", "del", vHost).Run() })
	run(t, "ip", "link", "set", vNS, "netns", ns)
	run(t, "ip", "addr", "add", hostIP+"/30", "dev", vHost)
	run(t, "ip", "link", "set", vHost, "up")
	run(t, "ip", "-n", ns, "addr", "add", nsIP+"/30", "dev", vNS)
	run(t, "ip", "-n", ns, "link", "set", vNS, "up")
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")

	// wireguard-go in the namespace, in the foreground so the test owns it.
	wgcmd := exec.Command("ip", "netns", "exec", ns, "wireguard-go", "-f", wgIf)
	wgcmd.Env = append(os.Environ(), "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1", "LOG_LEVEL=error")
	if err := wgcmd.Start(); err != nil {
		t.Fatalf("starting wireguard-go: %v", err)
	}
	sock := filepath.Join("/var/run/wireguard", wgIf+".sock")
	t.Cleanup(func() {
		// SIGTERM lets wireguard-go remove its device and control socket.
		wgcmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { wgcmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			wgcmd.Process.Kill()
			<-done
		}
		os.Remove(sock)
	})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("wireguard-go did not create %s", sock)
		}
	}

	srvKey, _ := wgconf.NewPrivateKey()
	srvPub, _ := wgconf.PublicKey(srvKey)
	cliKey, _ := wgconf.NewPrivateKey()
	cliPub, _ := wgconf.PublicKey(cliKey)
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(srvKey+"\n"), 0o600); err != nil {
		t.Fatalf("writing key: %v", err)
	}
	const port = "51999"
	run(t, "ip", "netns", "exec", ns, "wg", "set", wgIf, "private-key", keyFile, "listen-port", port,
		"peer", cliPub, "allowed-ips", "10.77.0.10/32")
	run(t, "ip", "-n", ns, "addr", "add", "10.77.0.1/16", "dev", wgIf)
	run(t, "ip", "-n", ns, "link", "set", wgIf, "up")

	ln := listenInNetns(t, ns, "10.77.0.1:80")
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hallo aus dem Namensraum")
	})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	e := tunnel.NewUserspace(tunnel.UserspaceOptions{})
	err := e.Up(context.Background(), tunnel.Config{
		PrivateKey:       cliKey,
		Address:          netip.MustParsePrefix("10.77.0.10/32"),
		GatewayEndpoint:  nsIP + ":" + port,
		GatewayPublicKey: srvPub,
		AllowedIPs:       []netip.Prefix{netip.MustParsePrefix("10.77.0.0/16")},
	})
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	defer e.Down()
	c := &http.Client{Transport: &http.Transport{DialContext: e.DialContext}, Timeout: 20 * time.Second}
	body, err := fetch(c, "http://10.77.0.1/")
	if err != nil || body != "hallo aus dem Namensraum" {
		t.Fatalf("GET through wireguard-go = %q, %v", body, err)
	}
	// The other side agrees: wg reports a handshake with our key.
	out := run(t, "ip", "netns", "exec", ns, "wg", "show", wgIf, "latest-handshakes")
	f := strings.Fields(out)
	if len(f) != 2 || f[0] != cliPub || f[1] == "0" {
		t.Errorf("wg latest-handshakes = %q, want a handshake with %s", out, cliPub)
	}
}
