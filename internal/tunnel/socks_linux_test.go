package tunnel_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/dienstweg/dienstweg/internal/helper/helpertest"
	"github.com/dienstweg/dienstweg/internal/org/gateway/gatewaytest"
	"github.com/dienstweg/dienstweg/internal/tunnel"
)

const nobody = 65534

// curlVia fetches url through the SOCKS proxy at proxy as uid, letting
// the proxy resolve the name (as the campaign did), and returns curl's
// output with the HTTP code on the last line.
func curlVia(proxy string, uid int, url string) (string, error) {
	cmd := exec.Command("curl", "-sS", "--max-time", "20", "--socks5-hostname", proxy, "-w", "\n%{http_code}", url)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The campaign's finding: as nobody, curl through the agent's proxy got
// the intranet page. Only the user the agent runs as may use it; the
// kernel says who connects.
func TestSOCKSProxyAdmitsOnlyOwner(t *testing.T) {
	helpertest.NeedRoot(t, "curl")
	t.Parallel()
	o := gatewaytest.Start(t, gatewaytest.Options{})
	d := o.Enroll(t, "hanne")
	o.WaitAdmitted(t, d, true)
	e := upEngine(t, d, tunnel.UserspaceOptions{SOCKSAddr: "127.0.0.1:0"})

	out, err := curlVia(e.SOCKSAddr(), nobody, gatewaytest.IntranetURL)
	if err == nil || strings.Contains(out, page) {
		t.Errorf("uid %d got through the proxy: %v\n%s", nobody, err, out)
	}
	// The owner (this test runs as root, as the agent here does).
	out, err = curlVia(e.SOCKSAddr(), 0, gatewaytest.IntranetURL)
	if err != nil || !strings.HasSuffix(out, "\n200") || !strings.Contains(out, page) {
		t.Fatalf("owner through the proxy: %v\n%s", err, out)
	}
}

// The agent runs as the employee, not as root: the owner lookup must work
// unprivileged, and root is not the owner then. The test binary is run
// as nobody as the proxy (TestSOCKSProxyChild).
func TestSOCKSProxyOfUnprivilegedUser(t *testing.T) {
	helpertest.NeedRoot(t, "curl")
	t.Parallel()
	exe := copyForNobody(t)
	cmd := exec.Command(exe, "-test.run=^TestSOCKSProxyChild$")
	cmd.Env = append(os.Environ(), "DIENSTWEG_TEST_SOCKS_CHILD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// A file, not a buffer: the child writes it directly, so reading it
	// while the child runs races with nothing in this process.
	stderr, err := os.CreateTemp(t.TempDir(), "proxy-log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the proxy as nobody: %v", err)
	}
	// stop ends the proxy (it exits when stdin closes) once.
	var waitErr error
	stop := sync.OnceFunc(func() {
		stdin.Close()
		waitErr = cmd.Wait()
	})
	defer stop()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the proxy's address: %v\n%s", err, logOf(stderr))
	}
	addr = strings.TrimSpace(addr)

	out, err := curlVia(addr, nobody, "http://intranet/")
	if err != nil || !strings.HasSuffix(out, "\n200") || !strings.Contains(out, fmt.Sprintf("proxy of uid %d", nobody)) {
		t.Fatalf("the owner (nobody) through its own proxy: %v\n%s\nproxy:\n%s", err, out, logOf(stderr))
	}
	if out, err := curlVia(addr, 0, "http://intranet/"); err == nil || strings.Contains(out, "proxy of uid") {
		t.Errorf("root got through nobody's proxy: %v\n%s", err, out)
	}
	// Refused connections are logged, once per user.
	stop()
	if waitErr != nil {
		t.Errorf("proxy process: %v\n%s", waitErr, logOf(stderr))
	}
	if log := logOf(stderr); !strings.Contains(log, "socks proxy refused another user") || !strings.Contains(log, "uid=0") {
		t.Errorf("refusal not logged:\n%s", log)
	}
}

// copyForNobody copies the test binary where nobody may run it (go test
// builds it in a directory only its user can enter).
func copyForNobody(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "dwsocks-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "tunnel.test")
	// A parallel test that forks while this file is open for writing
	// hands the descriptor to its child until that child execs, and our
	// exec then fails with "text file busy". ForkLock keeps forks out
	// while the descriptor exists.
	syscall.ForkLock.Lock()
	err = os.WriteFile(exe, b, 0o755)
	syscall.ForkLock.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func logOf(f *os.File) string {
	b, _ := os.ReadFile(f.Name())
	return string(b)
}
