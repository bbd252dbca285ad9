package enroll_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/dienstweg/dienstweg/internal/enroll"
)

// Whether this computer is set up is the keyring's to say; the progress
// file only says how far an unfinished setup got (issue 13, #9). Before,
// a set-up computer whose enroll.json was lost or damaged opened the
// wizard at "welcome", although `up` worked with the keys in the keyring.
func TestProgressFileLostOrDamagedAfterSetup(t *testing.T) {
	t.Parallel()
	// One set-up computer, whose file is damaged in one way after another
	// (each run writes it whole again).
	w := newWorld(t)
	// The machine logs on the calling goroutine, this one.
	var logs bytes.Buffer
	w.config = func(c *enroll.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	w.finish(t, w.machine(t))
	path := filepath.Join(w.dir, enroll.ProgressFile)
	for _, tc := range []struct {
		name   string
		damage func(path string) error
	}{
		{"missing", os.Remove},
		{"empty", func(p string) error { return os.WriteFile(p, nil, 0o600) }},
		{"garbage", func(p string) error { return os.WriteFile(p, []byte("\x00\x17\xffnot json"), 0o600) }},
		{"truncated", func(p string) error { return os.WriteFile(p, []byte(`{"version":1,"step":"do`), 0o600) }},
		{"unknown_step", func(p string) error { return os.WriteFile(p, []byte(`{"version":1,"step":"welcome2"}`), 0o600) }},
		{"newer_version", func(p string) error { return os.WriteFile(p, []byte(`{"version":7,"step":"done"}`), 0o600) }},
		{"a_directory", func(p string) error {
			if err := os.RemoveAll(p + ".damaged"); err != nil {
				return err
			}
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Mkdir(p, 0o700)
		}},
	} {
		logs.Reset()
		os.Remove(path + ".damaged")
		if err := tc.damage(path); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		m := w.machine(t) // the program starts again
		v := m.View()
		if !m.Enrolled() || !v.Enrolled {
			t.Fatalf("%s: set-up computer looks new: Enrolled %v, view %s/%s", tc.name, m.Enrolled(), v.Step, v.Page)
		}
		if v.Step != enroll.StepDone || v.Page != enroll.PageStep {
			t.Fatalf("%s: at %s/%s, want done", tc.name, v.Step, v.Page)
		}
		if tc.name != "missing" {
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "damaged") {
				t.Errorf("%s: damaged file not logged as an error:\n%s", tc.name, logs.String())
			}
			if _, err := os.Stat(path + ".damaged"); err != nil {
				t.Errorf("%s: damaged file not kept for the helpdesk: %v", tc.name, err)
			}
		}
		// The file is whole again and says Done.
		var p struct{ Step string }
		if b, err := os.ReadFile(path); err != nil || json.Unmarshal(b, &p) != nil || p.Step != "done" {
			t.Fatalf("%s: progress file after recovery: %s %v", tc.name, b, err)
		}
		// And the next start finds it so.
		if m := w.machine(t); !m.Enrolled() || m.View().Step != enroll.StepDone {
			t.Fatalf("%s: second start: %s", tc.name, m.View().Step)
		}
	}
}

// Without keys in the keyring, a missing or damaged file is a new setup.
func TestProgressFileMissingWithoutDevice(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if err := os.WriteFile(filepath.Join(w.dir, enroll.ProgressFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := w.machine(t)
	if m.Enrolled() {
		t.Fatal("enrolled without a device in the keyring")
	}
	wantStep(t, m.View(), enroll.StepWelcome, enroll.PageStep)
	w.finish(t, m)
}

// A new setup after Restart keeps the computer set up until the new
// device replaces the old one; a restart of the program does not change
// that, and resumes the new setup where it was.
func TestSetUpWhileSettingUpAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	w.finish(t, w.machine(t))
	m := w.machine(t)
	v := must(t)(m.Restart(ctx))
	wantStep(t, v, enroll.StepWelcome, enroll.PageStep)
	if !m.Enrolled() || !v.Enrolled {
		t.Fatal("Restart made a set-up computer look new; its device is still in the keyring")
	}
	must(t)(m.Next(ctx))
	m = w.machine(t)
	wantStep(t, m.View(), enroll.StepSignIn, enroll.PageStep)
	if !m.Enrolled() {
		t.Fatal("enrolled computer looks new during a new setup after a restart")
	}
}

// errDiskFull is what a write on a full disk returns.
var errDiskFull = &fs.PathError{Op: "write", Path: "enroll.json.tmp", Err: syscall.ENOSPC}

// failingDisk fails every write while full, as a state directory on a
// full disk does, and writes for real otherwise.
type failingDisk struct {
	mu     sync.Mutex
	full   bool
	writes int
}

func (d *failingDisk) write(path string, data []byte, perm os.FileMode) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writes++
	if d.full {
		return fmt.Errorf("writing %s: %w", path, errDiskFull)
	}
	return os.WriteFile(path, data, perm)
}

// The whole setup with every write of the progress file failing: the
// wizard says so on every step and offers to save again, finishes, keeps
// the device, and writes everything it knows once there is room again.
func TestSetupOnFullDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	disk := &failingDisk{full: true}
	w.config = func(c *enroll.Config) { enroll.SetWriteFile(c, disk.write) }
	m := w.machine(t)
	var seen []enroll.View
	cancel := collect(m, &seen)
	w.toDevice(t, m)
	must(t)(m.Next(ctx)) // register, test
	v := must(t)(m.Next(ctx))
	cancel()
	wantStep(t, v, enroll.StepDone, enroll.PageStep)
	if disk.writes == 0 {
		t.Fatal("the wizard never tried to save")
	}
	for _, v := range seen {
		if v.Step == enroll.StepWelcome {
			continue // nothing written yet
		}
		if v.Warning == nil || v.Warning.Key != "enroll.warning.disk_full" || v.Warning.Args["Dir"] != w.dir {
			t.Fatalf("at %s: warning %+v, want enroll.warning.disk_full for %s", v.Step, v.Warning, w.dir)
		}
		if v.Error != nil {
			t.Fatalf("at %s: error %+v; a full disk must not stop the setup", v.Step, v.Error)
		}
	}
	if !v.CanRetry {
		t.Error("Done on a full disk offers no way to save again")
	}
	if _, err := enroll.LoadDevice(ctx, w.ks); err != nil {
		t.Fatalf("device after the setup: %v", err)
	}

	// The program restarts while the disk is still full: set up.
	if m2 := w.machine(t); !m2.Enrolled() || m2.View().Step != enroll.StepDone {
		t.Fatalf("after a restart on the full disk: %s, enrolled %v", m2.View().Step, m2.Enrolled())
	}

	// Room again: Retry writes what the wizard knows, and the warning goes.
	disk.mu.Lock()
	disk.full = false
	disk.mu.Unlock()
	v = must(t)(m.Retry(ctx))
	if v.Warning != nil || v.CanRetry {
		t.Fatalf("after saving again: warning %+v, retry %v", v.Warning, v.CanRetry)
	}
	m3 := w.machine(t)
	if v := m3.View(); v.Step != enroll.StepDone || v.User != w.user || v.DisplayName == "" {
		t.Fatalf("after saving again and a restart: %s user %q name %q", v.Step, v.User, v.DisplayName)
	}
}

// collect records every view m publishes until cancel.
func collect(m *enroll.Machine, into *[]enroll.View) func() {
	ch, stop := m.Subscribe()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case v := <-ch:
				*into = append(*into, v)
			case <-done:
				for {
					select {
					case v := <-ch:
						*into = append(*into, v)
					default:
						return
					}
				}
			}
		}
	}()
	return func() { stop(); close(done); wg.Wait() }
}
