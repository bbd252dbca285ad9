package situation

import (
	"slices"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/health"
	"github.com/dienstweg/dienstweg/internal/state"
)

// "Arbeitsplatz öffnen" is offered while the session is up and the
// desktop answers, and only then (issue 20).
func TestDesktopsOffered(t *testing.T) {
	t.Parallel()
	links := func(answers ...bool) []state.Link {
		ls := []state.Link{{Code: health.Gateway, OK: true}}
		for i, ok := range answers {
			ls = append(ls, state.Link{Code: health.OfficeDesktop, Target: []string{"A", "B"}[i], OK: ok})
		}
		return ls
	}
	for _, tc := range []struct {
		name    string
		session state.Session
		links   []state.Link
		want    []string
	}{
		{"connected_both_answer", state.Connected, links(true, true), []string{"A", "B"}},
		{"limited_one_down", state.Limited, links(false, true), []string{"B"}},
		{"connecting", state.Connecting, links(true), nil},
		{"problem", state.Problem, links(true), nil},
		{"not_connected", state.NotConnected, links(true), nil},
		{"unchecked", state.Connected, []state.Link{{Code: health.OfficeDesktop, Target: "A", Skipped: true}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := Judge(state.Snapshot{Session: tc.session, Health: state.Health{Links: tc.links}}, time.UTC)
			if !slices.Equal(v.Desktops, tc.want) {
				t.Errorf("desktops = %q, want %q", v.Desktops, tc.want)
			}
		})
	}
}
