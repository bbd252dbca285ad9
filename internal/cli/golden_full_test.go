package cli

import (
	"reflect"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/state"
)

// full fills every field of the snapshot, so the golden file below shows
// the whole wire shape, including what sample leaves out.
func full() state.Snapshot {
	s := sample()
	at := s.Since
	off := -1.5
	s.Demo, s.SafeMode = true, true
	s.Health.Diagnosis = &state.Message{Key: "health.diagnosis.office_service", Args: map[string]string{"Service": "Intranet"}}
	s.Health.ChangedAt = at
	s.Health.ClockOffset = &off
	s.Health.Links = append(s.Health.Links, state.Link{Code: "office_services", OK: true, Target: "Mail", Skipped: true, Latency: 80,
		Detail:  state.Message{Key: "health.service.ok", Args: map[string]string{"Service": "Mail"}},
		History: []state.Sample{{At: at, OK: true, Latency: 31.25}}})
	s.Update = state.Update{State: "error", Available: "0.2.0", Progress: 0.5, Chosen: "session_end",
		Error: &state.Message{Key: "update.error.download", Args: map[string]string{"Version": "0.2.0"}}}
	s.Enrollment.Step = "done"
	s.Keyring = state.Keyring{State: state.KeyringLocked, Message: &state.Message{Key: "keyring.locked", Args: map[string]string{"Keyring": "login"}}}
	s.RecentErrors = append(s.RecentErrors, state.ErrorEntry{Time: at, Message: state.Message{Key: "update.error.download", Args: map[string]string{"Version": "0.2.0"}}})
	s.Helpdesk.Email = "it@musterstadt.example"
	s.DemoLogin = &state.DemoLogin{User: "demo", ActivationCode: "ABCD-EFGH"}
	s.ProfileMissing = "/etc/dienstweg/profile.json"
	s.LockedUntil = at.Add(5 * time.Minute)
	s.Tunnel = state.Tunnel{Policy: "auto", Mode: state.TunnelModeUserspace, Helper: state.HelperMissing, Proxy: "127.0.0.1:1080"}
	s.Office = state.Office{InOffice: true, StartAllowed: true}
	s.Settings = state.Settings{ManagedBy: "Stadt Musterstadt", ManagedByURL: "https://it.musterstadt.example/homeoffice",
		HelpdeskText: "IT-Service, Tel. 0123 456-789", Origin: "/etc/dienstweg/policy.json",
		Problems: []string{`/etc/dienstweg/policy.json: unknown setting "auto_strat", ignored`},
		List: []state.Setting{
			{Key: "auto_start", Value: true, Source: "user", Changeable: true},
			// Both flags, for the golden file only: a locked one is never changeable.
			{Key: "expiry_warning_minutes", Value: 30, Source: "policy", Locked: true, Changeable: true},
		}}
	s.Authorisation = state.Authorisation{Until: at.Add(8 * time.Hour), EndsSoon: true, Expired: true}
	s.Hours = state.Hours{Asked: true, Outside: true, NextStart: at.Add(10 * time.Hour), NextToday: true,
		Weekdays: []string{"mo", "di", "mi", "do", "fr"}, From: "06:00", Until: "21:00"}
	s.Running = true
	// Every field set, though no situation sets them all at once.
	s.Verdict = state.Verdict{Situation: "locked_out", Icon: state.Problem,
		Headline: state.Message{Key: "state.not_connected", Args: map[string]string{"Any": "x"}},
		Advice:   state.Message{Key: "verdict.locked_out.advice", Args: map[string]string{"Time": "08:17"}},
		Start:    state.StartDisabled, End: true, Extend: true, Desktops: []string{"Arbeitsplatz Bürgerbüro"}}
	return s
}

// The full sample must set every field: a field added to the snapshot
// and not here fails, so the golden file always covers the whole format.
func TestFullSampleSetsEveryField(t *testing.T) {
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		if v.Type() == reflect.TypeOf(time.Time{}) {
			if v.IsZero() {
				t.Errorf("full() leaves %s zero", path)
			}
			return
		}
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		case reflect.Pointer:
			if v.IsNil() {
				t.Errorf("full() leaves %s nil", path)
				return
			}
			walk(path, v.Elem())
		case reflect.Slice:
			if v.Len() == 0 {
				t.Errorf("full() leaves %s empty", path)
			}
			if v.Len() > 0 { // the last element stands for the type
				walk(path+"[]", v.Index(v.Len()-1))
			}
		case reflect.Map:
			if v.Len() == 0 {
				t.Errorf("full() leaves %s empty", path)
			}
		default:
			if v.IsZero() {
				t.Errorf("full() leaves %s zero", path)
			}
		}
	}
	walk("Snapshot", reflect.ValueOf(full()))
}

// Every field of the format appears in a golden file: a renamed or
// dropped field breaks scripts that read `dienstweg status --json`.
func TestStatusJSONGoldenFull(t *testing.T) { checkStatusGolden(t, full(), "status.full.golden.json") }
