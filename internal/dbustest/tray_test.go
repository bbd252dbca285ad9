package dbustest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image/color"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

var trayDemo struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if trayDemo.dir != "" {
		os.RemoveAll(trayDemo.dir)
	}
	os.Exit(code)
}

// buildTrayDemo builds testdata/traydemo once per test binary. Without cgo:
// fyne.io/systray is pure Go on Linux, and that keeps the build quick.
func buildTrayDemo(tb testing.TB) string {
	tb.Helper()
	trayDemo.once.Do(func() {
		trayDemo.dir, trayDemo.err = os.MkdirTemp("", "traydemo")
		if trayDemo.err != nil {
			return
		}
		trayDemo.bin = filepath.Join(trayDemo.dir, "traydemo")
		cmd := exec.Command("go", "build", "-o", trayDemo.bin, "./testdata/traydemo")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			trayDemo.err = fmt.Errorf("go build ./testdata/traydemo: %v\n%s", err, out)
		}
	})
	if trayDemo.err != nil {
		tb.Fatalf("buildTrayDemo: %v", trayDemo.err)
	}
	return trayDemo.bin
}

// testContext bounds every wait of a test. The bound is a safety net against
// hangs, not an assertion about speed.
func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// demo is a running traydemo child process.
type demo struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	mu     sync.Mutex
	stderr bytes.Buffer
}

func (d *demo) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.Write(p)
}

func (d *demo) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

// startDemo runs the tray demo on the current session bus and stops it when
// the test ends.
func startDemo(tb testing.TB) *demo {
	tb.Helper()
	bin := buildTrayDemo(tb)
	d := &demo{lines: make(chan string, 64)}
	d.cmd = exec.Command(bin)
	d.cmd.Env = append(os.Environ(), "LANG=C.UTF-8")
	d.cmd.Stderr = d
	var err error
	if d.stdin, err = d.cmd.StdinPipe(); err != nil {
		tb.Fatalf("startDemo: %v", err)
	}
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("startDemo: %v", err)
	}
	if err := d.cmd.Start(); err != nil {
		tb.Fatalf("startDemo: %v", err)
	}
	go func() {
		defer close(d.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			d.lines <- sc.Text()
		}
	}()
	tb.Cleanup(func() {
		d.stdin.Close() // the demo quits when stdin closes
		exited := make(chan struct{})
		go func() {
			for range d.lines { // drain so the demo never blocks on stdout
			}
			_ = d.cmd.Wait()
			close(exited)
		}()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Kill()
			<-exited
			tb.Errorf("traydemo did not quit when its stdin closed; log:\n%s", d.log())
		}
	})
	return d
}

// expect waits for the next stdout line equal to want, failing on any other.
func (d *demo) expect(ctx context.Context, tb testing.TB, want string) {
	tb.Helper()
	select {
	case got, ok := <-d.lines:
		if !ok {
			tb.Fatalf("traydemo exited while we waited for %q; log:\n%s", want, d.log())
		}
		if got != want {
			tb.Fatalf("traydemo said %q, want %q; log:\n%s", got, want, d.log())
		}
	case <-ctx.Done():
		tb.Fatalf("traydemo did not say %q: %v; log:\n%s", want, ctx.Err(), d.log())
	}
}

// send gives the demo a command and waits until it is applied.
func (d *demo) send(ctx context.Context, tb testing.TB, command string) {
	tb.Helper()
	if _, err := io.WriteString(d.stdin, command+"\n"); err != nil {
		tb.Fatalf("writing %q to traydemo: %v", command, err)
	}
	d.expect(ctx, tb, "ok "+command)
}

// waitForSignalMatch waits until the demo's tray listens for a watcher: it
// owns its item name and has added its NameOwnerChanged match rule. Only then
// does a watcher that appears later test re-registration and not a race.
func waitForSignalMatch(ctx context.Context, tb testing.TB, conn *dbus.Conn, d *demo) {
	tb.Helper()
	name := fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", d.cmd.Process.Pid)
	for {
		var stats map[string]dbus.Variant
		err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.Debug.Stats.GetConnectionStats", 0, name).Store(&stats)
		if err == nil {
			if n, _ := stats["MatchRules"].Value().(uint32); n >= 1 {
				return
			}
		} else if strings.Contains(d.log(), "failed to register") {
			// No Stats interface on this bus: the log line comes just before
			// AddMatch, which is as close as we can get.
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("tray never listened for a watcher (%v); log:\n%s", err, d.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestTrayEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name         string
		watcherFirst bool
	}{
		{name: "watcher_before_tray", watcherFirst: true},
		{name: "watcher_after_tray", watcherFirst: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			PrivateBus(t)
			ctx := testContext(t)
			var w *Watcher
			if tc.watcherFirst {
				w = StartWatcher(t)
			}
			d := startDemo(t)
			d.expect(ctx, t, "ready")
			if !tc.watcherFirst {
				waitForSignalMatch(ctx, t, Session(t), d)
				// No tray host is no error: the program says so itself.
				if strings.Contains(d.log(), "systray error") {
					t.Fatalf("a missing tray host was logged as an error; log:\n%s", d.log())
				}
				w = StartWatcher(t)
			}

			it, err := w.WaitItem(ctx)
			if err != nil {
				t.Fatalf("WaitItem: %v; log:\n%s", err, d.log())
			}
			checkItem(ctx, t, w, it, d)
		})
	}
}

func checkItem(ctx context.Context, t *testing.T, w *Watcher, it Item, d *demo) {
	if it.Path != "/StatusNotifierItem" || !strings.HasPrefix(it.Service, ":") {
		t.Errorf("item = %q %q, want the tray's unique name and /StatusNotifierItem", it.Service, it.Path)
	}
	if got := w.Items(); len(got) != 1 || got[0] != it {
		t.Errorf("Items() = %v, want [%v]", got, it)
	}

	if got, err := it.Title(ctx); err != nil || got != "Dienstweg Demo" {
		t.Errorf("Title() = %q, %v; want %q", got, err, "Dienstweg Demo")
	}
	if got, err := it.Status(ctx); err != nil || got != "Active" {
		t.Errorf("Status() = %q, %v; want Active", got, err)
	}
	if title, text, err := it.ToolTip(ctx); err != nil || title != "Homeoffice nicht verbunden" || text != "" {
		t.Errorf("ToolTip() = %q, %q, %v; want %q, \"\"", title, text, err, "Homeoffice nicht verbunden")
	}
	checkIcon(ctx, t, it, 32, color.NRGBA{R: 0x20, G: 0x40, B: 0x80, A: 0xff})

	t.Run("menu", func(t *testing.T) {
		m, err := it.Menu(ctx)
		if err != nil {
			t.Fatalf("Menu: %v", err)
		}
		root, err := m.Layout(ctx)
		if err != nil {
			t.Fatalf("Layout: %v", err)
		}
		want := []string{"Homeoffice starten", "Homeoffice beenden", "Sprache", "Deutsch", "English", "Beenden"}
		if got := root.Labels(); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("Labels() = %q, want %q", got, want)
		}
		if end, _ := root.FindByLabel("Homeoffice beenden"); end.Enabled {
			t.Errorf("%q is enabled, want disabled", end.Label)
		}
		if de, _ := root.FindByLabel("Deutsch"); de.ToggleType != "checkmark" || de.ToggleState != 1 {
			t.Errorf("Deutsch: toggle %q state %d, want checkmark 1", de.ToggleType, de.ToggleState)
		}
		if en, _ := root.FindByLabel("English"); en.ToggleState != 0 {
			t.Errorf("English: toggle state %d, want 0", en.ToggleState)
		}
		quit, ok := root.FindByLabel("Beenden")
		if !ok || quit.Label != "_Beenden" {
			t.Errorf("FindByLabel(Beenden) = %+v, %v; want the entry labelled _Beenden", quit, ok)
		}

		for _, label := range []string{"Homeoffice starten", "English"} {
			n, ok := root.FindByLabel(label)
			if !ok {
				t.Fatalf("FindByLabel(%q) found nothing", label)
			}
			if err := m.Click(ctx, n.ID); err != nil {
				t.Fatalf("Click(%d): %v", n.ID, err)
			}
			d.expect(ctx, t, "clicked "+label)
		}
	})

	t.Run("changes", func(t *testing.T) {
		d.send(ctx, t, "title Verbunden")
		if _, err := it.WaitProperty(ctx, "Title", func(v dbus.Variant) bool { return v.Value() == "Verbunden" }); err != nil {
			t.Errorf("WaitProperty(Title): %v", err)
		}
		d.send(ctx, t, "tooltip Verbunden – alles in Ordnung")
		if _, err := it.WaitProperty(ctx, "ToolTip", func(v dbus.Variant) bool {
			tt, err := decodeToolTip(v)
			return err == nil && tt.Title == "Verbunden – alles in Ordnung"
		}); err != nil {
			t.Errorf("WaitProperty(ToolTip): %v", err)
		}
		d.send(ctx, t, "icon 48 c00010")
		if _, err := it.WaitProperty(ctx, "IconPixmap", func(v dbus.Variant) bool {
			img, err := decodeIconPixmap(v)
			return err == nil && img.Bounds().Dx() == 48
		}); err != nil {
			t.Errorf("WaitProperty(IconPixmap): %v", err)
		}
		checkIcon(ctx, t, it, 48, color.NRGBA{R: 0xc0, G: 0x00, B: 0x10, A: 0xff})
	})

	t.Run("quit", func(t *testing.T) {
		d.send(ctx, t, "quit")
		if err := w.WaitUnregistered(ctx, it); err != nil {
			t.Fatalf("WaitUnregistered: %v", err)
		}
		if got := w.Items(); len(got) != 0 {
			t.Errorf("Items() after quit = %v, want none", got)
		}
	})
}

func checkIcon(ctx context.Context, t *testing.T, it Item, size int, want color.NRGBA) {
	t.Helper()
	img, err := it.IconPixmap(ctx)
	if err != nil {
		t.Errorf("IconPixmap: %v", err)
		return
	}
	if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
		t.Errorf("icon is %dx%d, want %dx%d", b.Dx(), b.Dy(), size, size)
	}
	if got := color.NRGBAModel.Convert(img.At(size/2, size/2)); got != want {
		t.Errorf("icon pixel = %v, want %v", got, want)
	}
}
