//go:build linux

package enroll_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dienstweg/dienstweg/internal/enroll"
)

// The same on a real file system: a tmpfs that is full, and one that is
// read-only (this needs root, as mounting does).
func TestSetupOnRealFullAndReadOnlyDisk(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("skipping: mounting a tmpfs needs root")
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name, opts, key string
		fill            bool
	}{
		{"full", "size=64k,mode=0700", "enroll.warning.disk_full", true},
		{"read_only", "size=64k,mode=0700,ro", "enroll.warning.read_only", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.dir = mountTmpfs(t, tc.opts)
			var filler string
			if tc.fill {
				filler = fillDisk(t, w.dir)
			}
			m := w.machine(t)
			w.toDevice(t, m)
			must(t)(m.Next(ctx))
			v := must(t)(m.Next(ctx))
			wantStep(t, v, enroll.StepDone, enroll.PageStep)
			if v.Warning == nil || v.Warning.Key != tc.key {
				t.Fatalf("warning %+v, want %s", v.Warning, tc.key)
			}
			if _, err := os.Stat(filepath.Join(w.dir, enroll.ProgressFile)); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("progress file on the %s disk: %v", tc.name, err)
			}
			if m2 := w.machine(t); !m2.Enrolled() || m2.View().Step != enroll.StepDone {
				t.Fatalf("after a restart: %s, enrolled %v", m2.View().Step, m2.Enrolled())
			}
			if !tc.fill {
				return
			}
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
			if v = must(t)(m.Retry(ctx)); v.Warning != nil {
				t.Fatalf("after making room: warning %+v", v.Warning)
			}
			if v := w.machine(t).View(); v.Step != enroll.StepDone || v.User != w.user {
				t.Fatalf("after making room and a restart: %s user %q", v.Step, v.User)
			}
		})
	}
}

// mountTmpfs mounts a tmpfs with opts on a new directory until the test
// ends.
func mountTmpfs(tb testing.TB, opts string) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	flags := uintptr(syscall.MS_NOSUID | syscall.MS_NODEV)
	if strings.HasSuffix(opts, ",ro") {
		flags |= syscall.MS_RDONLY
		opts = strings.TrimSuffix(opts, ",ro")
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, opts); err != nil {
		tb.Skipf("skipping: cannot mount a tmpfs here: %v", err)
	}
	tb.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			tb.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes a file until the file system is full and returns it.
func fillDisk(tb testing.TB, dir string) string {
	tb.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				tb.Fatalf("filling %s: %v", dir, err)
			}
			return path
		}
	}
}
