package logging

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRotatingFileRotatesAndBoundsSize(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "logs", "agent.log")
	r, err := OpenRotating(path, 100, 2)
	if err != nil {
		t.Fatalf("OpenRotating: %v", err)
	}
	defer r.Close()
	line := []byte(strings.Repeat("x", 39) + "\n") // 40 bytes
	for i := 0; i < 10; i++ {
		if _, err := r.Write(line); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
	files := Files(path, 2)
	if len(files) != 3 {
		t.Fatalf("Files = %v, want the log and 2 backups", files)
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 100 {
			t.Errorf("%s has %d bytes, over the 100 limit", f, st.Size())
		}
		if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode %o, want 600", f, perm)
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("a third backup exists: %v", err)
	}
}

func TestRotatingFileAppendsAcrossOpens(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "agent.log")
	for _, s := range []string{"one\n", "two\n"} {
		r, err := OpenRotating(path, 1000, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	got, _ := os.ReadFile(path)
	if string(got) != "one\ntwo\n" {
		t.Errorf("log = %q", got)
	}
}

func TestParseLevel(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"debug", "INFO", "warn", "error"} {
		if _, err := ParseLevel(ok); err != nil {
			t.Errorf("ParseLevel(%q): %v", ok, err)
		}
	}
	if _, err := ParseLevel("loud"); err == nil || !strings.Contains(err.Error(), "want debug") {
		t.Errorf("ParseLevel(loud) = %v", err)
	}
}

func TestLoggerRespectsLevel(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := New(&buf, mustLevel(t, "warn"))
	l.Info("hidden")
	l.Warn("shown", "k", "v")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
		t.Errorf("log = %q", buf.String())
	}
}

func mustLevel(tb testing.TB, s string) slog.Level {
	tb.Helper()
	l, err := ParseLevel(s)
	if err != nil {
		tb.Fatalf("ParseLevel: %v", err)
	}
	return l
}
