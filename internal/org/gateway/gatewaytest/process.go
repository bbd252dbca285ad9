package gatewaytest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/gateway"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
)

// processEnv carries a ProcessConfig to the child.
const processEnv = "DIENSTWEG_GATEWAYTEST_PROCESS"

// ProcessConfig is what a gateway process needs: the office's key and
// port, and the one device it admits.
type ProcessConfig struct {
	Key     string
	Port    int
	Peer    string
	Address netip.Prefix
}

// ProcessConfig returns the configuration of a gateway process that
// stands in for o's gateway (stop that one first) and admits d.
func (o *Office) ProcessConfig(d *Device) ProcessConfig {
	return ProcessConfig{Key: o.GatewayKey, Port: o.gcfg.ListenPort, Peer: d.PublicKey, Address: d.Reg.Tunnel.Address}
}

type staticPeers []portalsrv.Peer

func (p staticPeers) AuthorisedPeers(context.Context, time.Time) ([]portalsrv.Peer, error) {
	return p, nil
}

// ProcessMain is the body of the gateway process. Call it from a test
// named by StartProcess's run pattern; it returns at once outside a child.
// The gateway logs wireguard-go's packet lines to stderr and says READY
// on stdout once it serves; it ends when its stdin closes.
func ProcessMain(tb testing.TB) {
	js := os.Getenv(processEnv)
	if js == "" {
		tb.Skip("runs only as a gateway process started by gatewaytest.StartProcess")
	}
	var c ProcessConfig
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		tb.Fatalf("gateway process options: %v", err)
	}
	gw, err := gateway.Start(context.Background(), gateway.Config{
		PrivateKey: c.Key,
		ListenPort: c.Port,
		Address:    netip.PrefixFrom(GatewayAddr, 16),
		Peers:      staticPeers{{DeviceID: "dev", User: "anna", PublicKey: c.Peer, Address: c.Address, Until: time.Now().Add(24 * time.Hour)}},
		DNS:        gateway.DemoDNS(GatewayAddr),
		HTTP:       gateway.IntranetHandler("Stadt Musterstadt"),
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		tb.Fatalf("gateway.Start: %v", err)
	}
	defer gw.Close()
	os.Stdout.WriteString("READY\n")
	io.Copy(io.Discard, os.Stdin)
}

// Process is a running gateway process and what its log shows.
type Process struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	done chan struct{} // its stderr is read to the end

	mu       sync.Mutex
	accepted int
	rejected int
	lines    []string // above debug level
}

// StartProcess re-runs this test binary as a gateway process: run is the
// -test.run pattern of the test that calls ProcessMain. It returns once
// the gateway serves; the process is killed when the test ends.
func StartProcess(tb testing.TB, run string, c ProcessConfig) *Process {
	tb.Helper()
	js, _ := json.Marshal(c)
	return startChild(tb, run, processEnv+"="+string(js))
}

// startChild runs the test run with env added, after the command
// words of wrap if any (ip netns exec NS), and waits for its READY.
func startChild(tb testing.TB, run, env string, wrap ...string) *Process {
	tb.Helper()
	args := append(wrap, os.Args[0], "-test.run="+run, "-test.count=1")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	errp, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting the gateway process: %v", err)
	}
	p := &Process{cmd: cmd, in: in, done: make(chan struct{})}
	tb.Cleanup(p.Kill)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(errp)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if !strings.Contains(line, "level=DEBUG") {
				p.lines = append(p.lines, line)
			}
			switch {
			case strings.Contains(line, "Received handshake initiation"):
				p.accepted++
			case strings.Contains(line, "Received invalid initiation"):
				p.rejected++
			}
			p.mu.Unlock()
		}
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "READY" {
		tb.Fatalf("gateway process did not start: %q, %v", line, err)
	}
	return p
}

// Initiations counts the handshake initiations the gateway accepted and
// those it dropped (a flood within wireguard-go's HandshakeInitationRate,
// a replay, an unknown peer).
func (p *Process) Initiations() (accepted, rejected int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted, p.rejected
}

// Kill ends the process at once, as a crash does, and waits for it.
func (p *Process) Kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	resume(p.cmd.Process)
	p.cmd.Process.Kill()
	p.in.Close()
	<-p.done
	p.cmd.Wait()
}

// Freeze stops the process as a hung gateway; Thaw continues it.
func (p *Process) Freeze() error { return suspend(p.cmd.Process) }

// Thaw continues a frozen process.
func (p *Process) Thaw() error { return resume(p.cmd.Process) }
