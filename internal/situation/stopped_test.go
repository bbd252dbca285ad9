package situation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Problem names both a running session whose tunnel carries nothing and
// a start that failed, where nothing runs. Before, both offered
// „Homeoffice beenden“; after a failed start there is nothing to end,
// and „Homeoffice starten“ is the way on.
func TestProblemOffersEndOnlyWhileASessionRuns(t *testing.T) {
	t.Parallel()
	de, err := i18n.Load(assets.Translations, assets.TranslationsDir, i18n.German)
	if err != nil {
		t.Fatalf("i18n.Load: %v", err)
	}
	enrolled := state.Enrollment{Enrolled: true, Step: "done"}
	green := []state.Link{{Code: health.LocalNetwork, OK: true}, {Code: health.Internet, OK: true}, {Code: health.Portal, OK: true}}
	portalDown := []state.Link{{Code: health.LocalNetwork, OK: true}, {Code: health.Internet, OK: true}, {Code: health.Portal}}
	tests := []struct {
		name      string
		snap      state.Snapshot
		situation string
		start     state.StartAction
		end       bool
		advice    string // a part of the advice
	}{
		{name: "start_refused_by_portal", situation: "problem", start: state.StartCode, advice: "noch einmal zu versuchen",
			snap: state.Snapshot{Session: state.Problem, Enrollment: enrolled, Health: state.Health{Links: green},
				Detail: &state.Message{Key: "portal.error.user_disabled"}}},
		{name: "tunnel_did_not_start", situation: "problem", start: state.StartCode, advice: "„Homeoffice starten“",
			snap: state.Snapshot{Session: state.Problem, Enrollment: enrolled, Health: state.Health{Links: green},
				Detail: &state.Message{Key: "session.tunnel_failed"}}},
		{name: "device_dropped_by_portal", situation: "problem", start: state.StartCode, advice: "„Homeoffice starten“",
			snap: state.Snapshot{Session: state.Problem, Enrollment: enrolled,
				Detail: &state.Message{Key: "portal.error.device_unauthorised"}}},
		// The start failed because the portal is away: the portal's
		// verdict says so, and Start waits for it.
		{name: "start_failed_portal_down", situation: situation.PortalDown, start: state.StartDisabled, advice: "antwortet gerade nicht",
			snap: state.Snapshot{Session: state.Problem, Enrollment: enrolled, Health: state.Health{Links: portalDown},
				Detail: &state.Message{Key: "portal.error.unreachable"}}},
		// The tunnel is up and the office does not answer: the session
		// runs and retries by itself, so „Beenden“ stays.
		{name: "running_session_with_problem", situation: "problem", start: state.StartHidden, end: true, advice: "IT-Service",
			snap: state.Snapshot{Session: state.Problem, Running: true, Enrollment: enrolled, Health: state.Health{Links: green},
				Detail: &state.Message{Key: "session.gateway_unreachable"}}},
		// A start under way has no tunnel yet, but can be ended.
		{name: "start_under_way", situation: "connecting", start: state.StartHidden, end: true, advice: "warten",
			snap: state.Snapshot{Session: state.Connecting, Enrollment: enrolled, Health: state.Health{Links: green}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := situation.Judge(tt.snap, time.UTC)
			if v.Situation != tt.situation || v.Start != tt.start || v.End != tt.end {
				t.Errorf("Judge = %s start %q end %v, want %s start %q end %v", v.Situation, v.Start, v.End, tt.situation, tt.start, tt.end)
			}
			if v.End != tt.snap.Session.Active(tt.snap.Running) {
				t.Errorf("End = %v, but Session.Active = %v: two rules", v.End, !v.End)
			}
			if advice := de.T(v.Advice.Key, v.Advice.Args); !strings.Contains(advice, tt.advice) {
				t.Errorf("advice = %q, want it to contain %q", advice, tt.advice)
			}
		})
	}
}
