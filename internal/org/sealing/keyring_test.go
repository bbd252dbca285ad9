package sealing_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/dienstweg/dienstweg/internal/org/sealing"
)

func TestKeyFileCreatedPrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys", "secrets.key")
	k, err := sealing.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Dir(path))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("key directory mode = %04o, want 0700", di.Mode().Perm())
	}
	if k.Current() != 1 {
		t.Errorf("Current = %d, want 1", k.Current())
	}
	// Opening again reads the same key instead of making a new one.
	v, err := k.Seal([]byte("JBSWY3DPEHPK3PXP"), []byte("anna"))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	k2, err := sealing.Open(path)
	if err != nil {
		t.Fatalf("Open again: %v", err)
	}
	if p, err := k2.Open(v, []byte("anna")); err != nil || string(p) != "JBSWY3DPEHPK3PXP" {
		t.Errorf("Open after reopen = %q, %v", p, err)
	}
}

func TestKeyFileReadableByOthersRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secrets.key")
	if _, err := sealing.Open(path); err != nil {
		t.Fatalf("Open: %v", err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := sealing.Open(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("Open with mode %04o = %v, want a refusal naming chmod 600", mode, err)
		}
	}
}

func TestSealBindsToAAD(t *testing.T) {
	t.Parallel()
	k, err := sealing.Open(filepath.Join(t.TempDir(), "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := k.Seal([]byte("secret"), []byte("anna"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v, "secret") {
		t.Errorf("sealed value %q shows the clear text", v)
	}
	if _, err := k.Open(v, []byte("bernd")); err == nil {
		t.Error("a value sealed for anna opened for bernd")
	}
	if id, ok := k.KeyID(v); !ok || id != 1 {
		t.Errorf("KeyID = %d, %v; want 1, true", id, ok)
	}
	if _, ok := k.KeyID("JBSWY3DPEHPK3PXP"); ok {
		t.Error("clear text taken for a sealed value")
	}
}

// After Add, new values use the new key, old ones still open, and another
// Keyring on the same file (another portal process) follows the rotation.
func TestRotationKeepsOldKeysAndOtherProcessesFollow(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secrets.key")
	a, err := sealing.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sealing.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := a.Seal([]byte("old"), nil)
	id, err := a.Add()
	if err != nil || id != 2 {
		t.Fatalf("Add = %d, %v; want 2", id, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode after Add = %04o, want 0600", fi.Mode().Perm())
	}
	fresh, _ := a.Seal([]byte("new"), nil)
	if kid, _ := a.KeyID(fresh); kid != 2 {
		t.Errorf("new value sealed with key %d, want 2", kid)
	}
	if p, err := a.Open(old, nil); err != nil || string(p) != "old" {
		t.Errorf("old value after rotation = %q, %v", p, err)
	}
	if p, err := b.Open(fresh, nil); err != nil || string(p) != "new" {
		t.Errorf("other keyring opening a value of the new key = %q, %v", p, err)
	}
	if b.Current() != 2 {
		t.Errorf("other keyring seals with key %d after reloading, want 2", b.Current())
	}
}

func TestUnknownKeyReported(t *testing.T) {
	t.Parallel()
	a, _ := sealing.Open(filepath.Join(t.TempDir(), "a.key"))
	b, _ := sealing.Open(filepath.Join(t.TempDir(), "b.key"))
	a.Add()
	v, _ := a.Seal([]byte("x"), nil)
	if _, err := b.Open(v, nil); !errors.Is(err, sealing.ErrUnknownKey) {
		t.Errorf("Open with a foreign key id = %v, want ErrUnknownKey", err)
	}
}

// Rotations at once (four admins, four processes) each get a key of
// their own: no key is lost with the values sealed under it.
func TestConcurrentAddsKeepEveryKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secrets.key")
	if _, err := sealing.Open(path); err != nil {
		t.Fatal(err)
	}
	const n = 4
	sealed := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := sealing.Open(path)
			if err != nil {
				t.Error(err)
				return
			}
			for {
				_, err := k.Add()
				if err == nil {
					break
				}
				if !strings.Contains(err.Error(), "another process") {
					t.Errorf("Add: %v", err)
					return
				}
				runtime.Gosched()
			}
			sealed[i], err = k.Seal([]byte("x"), nil)
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	c, err := sealing.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Current() != n+1 {
		t.Errorf("after %d adds the current key is %d, want %d", n, c.Current(), n+1)
	}
	for _, v := range sealed {
		if _, err := c.Open(v, nil); err != nil {
			t.Errorf("a value sealed during the rotations: %v", err)
		}
	}
	if _, err := os.Stat(path + ".lock"); !os.IsNotExist(err) {
		t.Errorf("lock file left behind: %v", err)
	}
}

// The cost sealing adds to reading a user (the poll path's cache miss)
// and to starting an enrollment.
func BenchmarkOpen(b *testing.B) {
	k, _ := sealing.Open(filepath.Join(b.TempDir(), "secrets.key"))
	v, _ := k.Seal([]byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"), []byte("anna"))
	for b.Loop() {
		if _, err := k.Open(v, []byte("anna")); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	k, _ := sealing.Open(filepath.Join(b.TempDir(), "secrets.key"))
	for b.Loop() {
		if _, err := k.Seal([]byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"), []byte("anna")); err != nil {
			b.Fatal(err)
		}
	}
}
