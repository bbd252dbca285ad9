package helper_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dienstweg/dienstweg/internal/helper/helpertest"
	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

// TestHelperChild is the helper process of the namespace tests.
func TestHelperChild(t *testing.T) { helpertest.Child(t) }

// curlAs asks the helper's status endpoint as another user and returns
// the HTTP code and body, or curl's error (e.g. no permission to
// connect).
func curlAs(t *testing.T, uid int, sock string) (string, error) {
	t.Helper()
	cmd := exec.Command("curl", "-sS", "--max-time", "20", "--unix-socket", sock, "-w", "\n%{http_code}", "http://helper/v1/status")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

const nobody = 65534

func TestSocketAdmitsOnlyAllowedUsers(t *testing.T) {
	helpertest.NeedRoot(t, "curl")
	t.Parallel()
	home := helpertest.NewHome(t)

	t.Run("root_allowed", func(t *testing.T) {
		h := home.StartHelper(t, helpertest.HelperConfig{})
		defer h.Stop(t)
		out, err := curlAs(t, 0, h.Socket)
		if err != nil || !strings.HasSuffix(out, "\n200") || !strings.Contains(out, `"up":false`) {
			t.Fatalf("root: %v\n%s", err, out)
		}
	})
	t.Run("socket_mode_and_owner", func(t *testing.T) {
		h := home.StartHelper(t, helpertest.HelperConfig{})
		defer h.Stop(t)
		st, err := os.Stat(h.Socket)
		if err != nil {
			t.Fatalf("Stat: %v", err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if st.Mode().Perm() != 0o660 || sys.Uid != 0 {
			t.Errorf("socket mode %v uid %d, want 0660 owned by root", st.Mode().Perm(), sys.Uid)
		}
		// The file permissions alone already keep nobody out.
		if out, err := curlAs(t, nobody, h.Socket); err == nil {
			t.Errorf("uid %d connected through a 0660 root socket:\n%s", nobody, out)
		}
	})
	t.Run("other_uid_refused_by_peer_credentials", func(t *testing.T) {
		// A socket anyone may open: the peer check alone must refuse.
		h := home.StartHelper(t, helpertest.HelperConfig{SocketMode: 0o666})
		defer h.Stop(t)
		out, err := curlAs(t, nobody, h.Socket)
		if err != nil || !strings.HasSuffix(out, "\n403") || !strings.Contains(out, fmt.Sprintf("uid %d may not use", nobody)) {
			t.Fatalf("uid %d: %v\n%s", nobody, err, out)
		}
		// The helper logs before it answers, but this process reads its
		// output through a pipe: only after it exited is all of it here.
		h.Stop(t)
		if !strings.Contains(h.Output(), "refused a caller") {
			t.Errorf("refusal not logged:\n%s", h.Output())
		}
	})
	t.Run("listed_uid_allowed", func(t *testing.T) {
		h := home.StartHelper(t, helpertest.HelperConfig{SocketMode: 0o666, AllowUIDs: []int{nobody}})
		defer h.Stop(t)
		out, err := curlAs(t, nobody, h.Socket)
		if err != nil || !strings.HasSuffix(out, "\n200") {
			t.Fatalf("listed uid %d: %v\n%s", nobody, err, out)
		}
	})
	t.Run("group_member_allowed", func(t *testing.T) {
		// Debian's nobody is in the group nogroup (gid 65534).
		h := home.StartHelper(t, helpertest.HelperConfig{Group: "nogroup"})
		defer h.Stop(t)
		st, _ := os.Stat(h.Socket)
		if gid := st.Sys().(*syscall.Stat_t).Gid; gid != nobody {
			t.Errorf("socket group %d, want nogroup (%d)", gid, nobody)
		}
		out, err := curlAs(t, nobody, h.Socket)
		if err != nil || !strings.HasSuffix(out, "\n200") {
			t.Fatalf("group member: %v\n%s", err, out)
		}
	})
}

func upSession(t *testing.T, lab *helpertest.Lab, sock, user string) *tunnel.System {
	t.Helper()
	d := lab.Office.Enroll(t, user)
	lab.Office.WaitAdmitted(t, d, true)
	e := tunnel.NewSystem(tunnel.SystemOptions{Socket: sock})
	if err := e.Up(context.Background(), tunnel.FromProfile(d.Reg.Tunnel, d.PrivateKey)); err != nil {
		t.Fatalf("Up: %v", err)
	}
	out, err := lab.Exec("curl", "-sS", "--max-time", "20", gatewaytest.IntranetURL)
	if err != nil || !strings.Contains(out, "Intranet der Stadt Musterstadt") {
		t.Fatalf("curl through the tunnel: %v\n%s", err, out)
	}
	return e
}

func TestKill9ThenRestartLeavesCleanSystem(t *testing.T) {
	helpertest.NeedRoot(t, "curl")
	t.Parallel()
	lab := helpertest.NewLab(t)
	before := lab.Snapshot(t)
	h := lab.StartHelper(t, helpertest.HelperConfig{})
	upSession(t, lab, h.Socket, "emil")

	h.Kill9(t)
	// The crash left the DNS change (the test would pass vacuously
	// otherwise) and the state file that lists it.
	if s := lab.Snapshot(t); !strings.Contains(s.ResolvConf, "nameserver 10.77.0.1") {
		t.Fatalf("after kill -9 resolv.conf has no office DNS; nothing to clean up?\n%s", s.ResolvConf)
	}
	state := filepath.Join(h.StateDir, "helper-state.json")
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("no state file after the crash: %v", err)
	}

	h.Restart(t)
	if diff := lab.Snapshot(t).Diff(before); diff != "" {
		t.Errorf("after restart the home namespace differs:\n%s", diff)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file after the cleanup: %v", err)
	}
	// And the restarted helper works.
	e := upSession(t, lab, h.Socket, "frieda")
	if err := e.Down(); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if diff := lab.Snapshot(t).Diff(before); diff != "" {
		t.Errorf("after Down the home namespace differs:\n%s", diff)
	}
}

// TestRestartRemovesLeftoverDevice covers a crash that left the device
// itself (a persistent TUN, as when its descriptor outlived the helper):
// the state file names it, and the next start removes it and its route.
func TestRestartRemovesLeftoverDevice(t *testing.T) {
	helpertest.NeedRoot(t)
	t.Parallel()
	home := helpertest.NewHome(t)
	before := home.Snapshot(t)
	dir, err := os.MkdirTemp("", "dwhelper-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	ifname := "dwtun" + home.ID // the name StartHelper gives the helper
	helpertest.Run(t, "ip", "-n", home.NS, "tuntap", "add", "dev", ifname, "mode", "tun")
	helpertest.Run(t, "ip", "-n", home.NS, "addr", "add", "10.77.0.10/32", "dev", ifname)
	helpertest.Run(t, "ip", "-n", home.NS, "link", "set", ifname, "up")
	helpertest.Run(t, "ip", "-n", home.NS, "route", "add", "10.77.0.0/16", "dev", ifname)
	if err := os.MkdirAll(filepath.Join(dir, "state"), 0o755); err != nil {
		t.Fatal(err)
	}
	state := fmt.Sprintf(`{"interface":%q,"routes":["10.77.0.0/16"]}`, ifname)
	if err := os.WriteFile(filepath.Join(dir, "state", "helper-state.json"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	if diff := home.Snapshot(t).Diff(before); diff == "" {
		t.Fatalf("the leftover device is not visible")
	}
	h := home.StartHelper(t, helpertest.HelperConfig{Dir: dir})
	if diff := home.Snapshot(t).Diff(before); diff != "" {
		t.Errorf("after start the home namespace differs:\n%s\nhelper:\n%s", diff, h.Output())
	}
}
