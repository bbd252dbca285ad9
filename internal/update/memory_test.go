package update

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// logBuffer is a logger whose text output the test can read.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

func TestDamagedMemoryIsLoggedAndMovedAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, memoryFile)
	damaged := []byte(`{"pending": {"version": "0.2.0", "exe": "/opt/dienst`)
	if err := os.WriteFile(path, damaged, 0o600); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	log, buf := logBuffer()
	r, err := newMemory(dir, log).get()
	if err != nil || !reflect.DeepEqual(r, record{}) {
		t.Fatalf("get = %+v, %v; want an empty record", r, err)
	}
	if out := buf.String(); !strings.Contains(out, "update memory damaged") || !strings.Contains(out, path) {
		t.Errorf("no clear log line naming %s:\n%s", path, out)
	}
	if b, err := os.ReadFile(path + ".corrupt"); err != nil || !bytes.Equal(b, damaged) {
		t.Errorf("damaged file not kept for support: %q, %v", b, err)
	}
	// Said once: the next start finds no damaged file.
	buf.Reset()
	if _, err := newMemory(dir, log).get(); err != nil || buf.Len() > 0 {
		t.Errorf("second load: %v, log %q", err, buf.String())
	}
}

// A pending record naming a backup that is not the one Install keeps
// beside the binary must not make Startup rename that file over the
// binary; the rest of the memory (the failed release) stays.
func TestStartupIgnoresPendingRecordWithForeignBackup(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(t.TempDir(), "dienstweg")
	other := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(bin, []byte("installed binary"), 0o755); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	if err := os.WriteFile(other, []byte("someone's notes"), 0o600); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	rec := record{
		Pending: &Pending{Version: "0.2.0", FromVersion: "0.1.0", Exe: bin, Backup: other, Starts: MaxUnconfirmedStarts},
		Failed:  &Failed{Version: "0.1.5", Reason: "crashed", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	b, _ := json.Marshal(rec)
	if err := os.WriteFile(filepath.Join(dir, memoryFile), b, 0o600); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	log, buf := logBuffer()
	res, err := Startup(dir, "0.2.0", nil, log)
	if err != nil || res.Reexec {
		t.Fatalf("Startup = %+v, %v; want nothing to do", res, err)
	}
	if got, _ := os.ReadFile(bin); string(got) != "installed binary" {
		t.Errorf("binary replaced by %q", got)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("the other file is gone: %v", err)
	}
	if !strings.Contains(buf.String(), "partly damaged") {
		t.Errorf("no log line about the damaged part:\n%s", buf.String())
	}
	r, err := newMemory(dir, log).get()
	if err != nil || r.Pending != nil || r.Failed == nil || r.Failed.Version != "0.1.5" {
		t.Errorf("memory after start = %+v, %v; want the failed release kept and nothing pending", r, err)
	}
}

// FuzzMemoryLoad: any content of update-state.json loads without error
// or panic, and gives a record that, written back, loads unchanged and
// without problems.
func FuzzMemoryLoad(f *testing.F) {
	good, _ := json.Marshal(record{
		Pending: &Pending{Version: "0.2.0", FromVersion: "0.1.0", Exe: "/opt/d/dienstweg", Backup: "/opt/d/.dienstweg.old", Starts: 1},
		Failed:  &Failed{Version: "0.1.9", Reason: "x"}, RolledBack: &Failed{Version: "0.1.9"},
	})
	for _, s := range []string{"", "{}", "null", "[]", `{"pending":null}`, `{"pending":{}}`, `{"failed":{"version":"01.2.3"}}`,
		`{"pending":{"version":"0.2.0","from_version":"0.1.0","exe":"dienstweg","backup":".dienstweg.old"}}`,
		`{"pending":{"starts":-1}}`, "\xff", string(good), string(good[:len(good)/2])} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		// The file path as the agent reads it; no fsync per input, so
		// the fuzzer spends its time in the parser.
		if err := os.WriteFile(filepath.Join(dir, memoryFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		log, _ := logBuffer()
		r, err := newMemory(dir, log).get()
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		// Written back (as change does) and loaded again, nothing changes
		// and nothing is left to complain about.
		again, problems, _ := parseRecord(mustJSON(t, r))
		if len(problems) > 0 || !bytes.Equal(mustJSON(t, again), mustJSON(t, r)) {
			t.Fatalf("round trip of %+v: %+v, problems %v", r, again, problems)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return b
}
