package enroll

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/portal"
)

// FuzzLoadProgress feeds the wizard's progress loader what a damaged,
// truncated or edited enroll.json may hold. It must never panic; what it
// accepts must be a state the wizard could have written (a known step,
// names within the wizard's limits) and must survive a save and a load
// unchanged; what it rejects is a damaged file, never a missing one. And
// whatever the file says, a wizard started on it reports the computer set
// up exactly when the keyring holds a device (issue 13, #9).
func FuzzLoadProgress(f *testing.F) {
	good, _ := json.Marshal(progress{Version: progressVersion, Step: StepDone, User: "m.mustermann",
		DisplayName: "Maria Mustermann", DeviceID: "dev-1", Updated: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)})
	f.Add(good)
	f.Add([]byte(`{"version":1,"step":"confirm","user":"anna"}`))
	f.Add([]byte(`{"version":1,"step":"welcome","updated":"2026-11-23T08:00:00+01:00"}`))
	f.Add([]byte(``))
	f.Add([]byte(`{"version":1,"step":"done"}garbage`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ProgressFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		checkMachine(t, data)
		p, err := loadProgress(dir)
		if err != nil {
			if os.IsNotExist(err) {
				t.Fatalf("an existing file reads as missing: %v", err)
			}
			return
		}
		if p.Step.index() < 0 || p.Version != progressVersion {
			t.Fatalf("accepted step %q version %d", p.Step, p.Version)
		}
		if len(p.User) > maxUserLen || len(p.DisplayName) > maxNameLen || len(p.DeviceID) > maxDeviceIDLen ||
			!utf8.ValidString(p.User+p.DisplayName+p.DeviceID) {
			t.Fatalf("accepted names the wizard would not write: %q %q %q", p.User, p.DisplayName, p.DeviceID)
		}
		if err := saveProgress(dir, p, nil); err != nil {
			t.Fatalf("an accepted progress cannot be saved: %v", err)
		}
		q, err := loadProgress(dir)
		if err != nil {
			t.Fatalf("a saved progress does not load: %v", err)
		}
		if q.Step != p.Step || q.User != p.User || q.DisplayName != p.DisplayName || q.DeviceID != p.DeviceID || !q.Updated.Equal(p.Updated) {
			t.Fatalf("save and load changed the progress:\n%+v\n%+v", p, q)
		}
	})
}

// checkMachine starts a wizard on data as the progress file, once with a
// device in the keyring and once without.
func checkMachine(t *testing.T, data []byte) {
	t.Helper()
	priv, _, err := newKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, device := range []bool{false, true} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ProgressFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		ks := keyring.NewMem()
		if device {
			ks.Set(context.Background(), keyring.AccountWireGuardKey, priv)
			ks.Set(context.Background(), keyring.AccountDeviceCredential, "credential")
		}
		m, err := New(context.Background(), Config{Portal: offlinePortal{}, Keyring: ks, StateDir: dir,
			DeviceName: "fuzz", Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		v := m.View()
		if m.Enrolled() != device || v.Enrolled != device {
			t.Fatalf("device in keyring %v, but Enrolled %v (view %v) at %s for %q", device, m.Enrolled(), v.Enrolled, v.Step, data)
		}
		if v.Step.index() < 0 || v.Page != PageStep {
			t.Fatalf("wizard at %q/%q for %q", v.Step, v.Page, data)
		}
	}
}

// offlinePortal is a portal that is never reached.
type offlinePortal struct{}

var errOffline = errors.New("offline")

func (offlinePortal) Health(context.Context) (time.Time, error) { return time.Time{}, errOffline }
func (offlinePortal) StartEnrollment(context.Context, string, string) (*portal.Enrollment, error) {
	return nil, errOffline
}
func (offlinePortal) ConfirmEnrollment(context.Context, string, string) (*portal.Confirmation, error) {
	return nil, errOffline
}
func (offlinePortal) RegisterDevice(context.Context, string, string, string) (*portal.Registration, error) {
	return nil, errOffline
}
func (offlinePortal) Device(context.Context) (*portal.DeviceInfo, error) { return nil, errOffline }
func (offlinePortal) SetCredential(string)                               {}
