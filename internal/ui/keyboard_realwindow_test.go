package ui

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/app"
)

// realWindowEnv makes the test binary show one real window (Fyne's GLFW
// driver on the X display) instead of running tests.
const realWindowEnv = "DIENSTWEG_UI_REAL_WINDOW"

// runRealWindow shows the code prompt in a real window and reports on
// stdout what the agent would have received; it returns when the window
// closes.
func runRealWindow(name string) int {
	if strings.HasPrefix(name, "run ") {
		return runWindowFromEnv(name)
	}
	if name != "code" {
		fmt.Fprintf(os.Stderr, "unknown window %q\n", name)
		return 2
	}
	goAsync = func(f func()) { go f() }
	followXftDPI() // as Run does
	a := app.NewWithID(AppID + ".test")
	a.Settings().SetTheme(newTheme())
	w := NewCodeWindow(a, &printingClient{})
	w.Window.ShowAndRun()
	fmt.Println("closed")
	return 0
}

// printingClient tells the parent test which code arrived.
type printingClient struct{ recordingClient }

func (*printingClient) StartSession(_ context.Context, code string) error {
	fmt.Printf("code %s\n", code)
	return nil
}

// realWindow is a child process showing a window on the test display.
type realWindow struct {
	tb   testing.TB
	cmd  *exec.Cmd
	id   string // X window id
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func needRealDisplay(tb testing.TB) {
	tb.Helper()
	if os.Getenv("DISPLAY") == "" {
		skipOrFail(tb, "no X display: DISPLAY is not set")
	}
	for _, tool := range []string{"xdotool", "xwininfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(tb, "%s not found (Debian packages xdotool, x11-utils)", tool)
		}
	}
}

// skipOrFail fails: `make test` runs inside scripts/testenv.sh, which has
// the display, and scripts/deps.sh installs the tools; a skip would hide a
// missing set-up.
func skipOrFail(tb testing.TB, format string, args ...any) {
	tb.Helper()
	tb.Fatalf(format+" (run under scripts/testenv.sh after scripts/deps.sh)", args...)
}

// showRealWindow starts the child at FYNE_SCALE=scale and waits for its
// window.
func showRealWindow(tb testing.TB, title, scale string) *realWindow {
	tb.Helper()
	return startRealWindow(tb, title, []string{realWindowEnv + "=code", "FYNE_SCALE=" + scale})
}

// startRealWindow starts the child with env added and waits for its
// window called title.
func startRealWindow(tb testing.TB, title string, env []string) *realWindow {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	r := &realWindow{tb: tb, cmd: cmd, done: make(chan error, 1)}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting the window: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			r.mu.Lock()
			r.out.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
		}
		r.done <- cmd.Wait()
	}()
	tb.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = cmd.Process.Kill()
			<-r.done
		}
		if tb.Failed() {
			tb.Logf("window process stderr:\n%s", stderr.String())
		}
	})
	// --sync waits until the window is mapped; the timeout bounds it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "xdotool", "search", "--sync", "--onlyvisible", "--name", "^"+regexp.QuoteMeta(title)+"$").Output()
	if err != nil {
		tb.Fatalf("window %q did not appear: %v", title, err)
	}
	r.id = strings.Fields(string(out))[0]
	r.xdotool("windowfocus", "--sync", r.id)
	return r
}

func (r *realWindow) xdotool(args ...string) {
	r.tb.Helper()
	if out, err := exec.Command("xdotool", args...).CombinedOutput(); err != nil {
		r.tb.Fatalf("xdotool %v: %v: %s", args, err, out)
	}
}

// waitClosed waits for the window process to end and returns its output.
func (r *realWindow) waitClosed() string {
	r.tb.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for Cleanup
		if err != nil {
			r.tb.Fatalf("window process: %v", err)
		}
	case <-time.After(20 * time.Second):
		r.mu.Lock()
		defer r.mu.Unlock()
		r.tb.Fatalf("window still open after 20 s; output so far: %q", r.out.String())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// size is the window's inner size in pixels, as the X server has it.
func (r *realWindow) size() (w, h int) {
	r.tb.Helper()
	out, err := exec.Command("xwininfo", "-id", r.id).Output()
	if err != nil {
		r.tb.Fatalf("xwininfo: %v", err)
	}
	field := func(name string) int {
		m := regexp.MustCompile(`(?m)^\s*` + name + `:\s*(\d+)`).FindSubmatch(out)
		if m == nil {
			r.tb.Fatalf("xwininfo printed no %s:\n%s", name, out)
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	return field("Width"), field("Height")
}

// The code prompt in a real window, driven by real X key events: typing
// and Enter submit, Tab reaches the buttons and Enter presses them,
// Escape cancels. At FYNE_SCALE=1.25 the window grows by that factor
// and still fits a 1366×768 screen.
func TestCodePromptRealWindowKeys(t *testing.T) {
	needRealDisplay(t)
	title := L("code.title")

	t.Run("type_and_enter", func(t *testing.T) {
		plain := showRealWindow(t, title, "1")
		w0, h0 := plain.size()
		plain.xdotool("key", "Escape")
		plain.waitClosed()

		w := showRealWindow(t, title, "1.25")
		width, height := w.size()
		t.Logf("window %d×%d px at scale 1, %d×%d px at 1.25", w0, h0, width, height)
		// At least 1.25 times, less rounding: text measured in more
		// pixels rounds up, so the window may grow a little more.
		if float64(width) < 1.22*float64(w0) || float64(height) < 1.22*float64(h0) {
			t.Errorf("FYNE_SCALE=1.25 makes the window %d×%d px from %d×%d", width, height, w0, h0)
		}
		if width > 1366 || height > 680 {
			t.Errorf("window %d×%d px at 125 %%, more than 1366×680", width, height)
		}
		w.xdotool("type", "--delay", "40", "123 456")
		w.xdotool("key", "Return")
		if out := w.waitClosed(); out != "code 123456\nclosed\n" {
			t.Errorf("output %q, want the code sent and the window closed", out)
		}
	})
	t.Run("tab_to_the_button_and_enter", func(t *testing.T) {
		w := showRealWindow(t, title, "1.25")
		w.xdotool("type", "--delay", "40", "654321")
		// From the field: Abbrechen, then Verbinden.
		w.xdotool("key", "--delay", "100", "Tab", "Tab", "Return")
		if out := w.waitClosed(); out != "code 654321\nclosed\n" {
			t.Errorf("output %q, want the code sent by the button and the window closed", out)
		}
	})
	t.Run("escape_cancels", func(t *testing.T) {
		w := showRealWindow(t, title, "1.25")
		w.xdotool("type", "--delay", "40", "12")
		w.xdotool("key", "Escape")
		if out := w.waitClosed(); out != "closed\n" {
			t.Errorf("output %q, want the window closed and no code sent", out)
		}
	})
}
