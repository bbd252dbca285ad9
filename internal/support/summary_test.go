package support

import (
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

func TestSummaryText(t *testing.T) {
	cat, err := i18n.Load(assets.Translations, assets.TranslationsDir, "de")
	if err != nil {
		t.Fatal(err)
	}
	T := func(k string, a map[string]string) string {
		if a == nil {
			return cat.T(k)
		}
		return cat.T(k, a)
	}
	off := -183.0
	at := time.Date(2026, 11, 23, 8, 12, 0, 0, time.UTC)
	s := state.Snapshot{
		SupportCode: "DW-7K3F-Q9", Version: "0.1.0", DeviceName: "nb-0815", Organisation: "Stadt Musterstadt",
		Session:    state.Limited,
		Enrollment: state.Enrollment{User: "anna.schmidt"},
		Health: state.Health{ClockOffset: &off, Links: []state.Link{
			{Code: "internet", OK: true}, {Code: "gateway", OK: true}, {Code: "office_services", OK: false},
		}},
		RecentErrors: []state.ErrorEntry{
			{Time: at, Message: state.Message{Key: "code.format"}},
			{Time: at.Add(time.Hour), Message: state.Message{Key: "state.problem"}},
		},
		Helpdesk: state.Helpdesk{Phone: "05221 123-4567", Hours: "Mo–Fr 7:30–16:00"},
	}
	situation.Derive(&s)
	got := Text(Summary(s, T, time.UTC))
	want := strings.Join([]string{
		"Support-Code: DW-7K3F-Q9",
		"Version: 0.1.0",
		"Computer: nb-0815",
		"Benutzer: anna.schmidt",
		"Organisation: Stadt Musterstadt",
		"Verbindung: Verbunden, aber eingeschränkt",
		"Prüfungen: ✓ Internet → ✓ Zugang → ✗ Dienste im Büro",
		"Uhr: geht 183 Sekunden nach – Codes können abgelehnt werden",
		"Fehler 23.11. 09:12: Störung – siehe Details",
		"Fehler 23.11. 08:12: Der Code hat genau 6 Ziffern.",
		"IT-Service: 05221 123-4567  Mo–Fr 7:30–16:00",
	}, "\n") + "\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestSummaryHidesUserInSafeMode(t *testing.T) {
	cat, err := i18n.Load(assets.Translations, assets.TranslationsDir, "de")
	if err != nil {
		t.Fatal(err)
	}
	T := func(k string, a map[string]string) string { return cat.T(k, a) }
	s := state.Snapshot{SafeMode: true, Enrollment: state.Enrollment{User: "anna.schmidt"}}
	text := Text(Summary(s, T, time.UTC))
	if strings.Contains(text, "anna.schmidt") || !strings.Contains(text, "Benutzer: (ausgeblendet)") {
		t.Errorf("safe mode summary:\n%s", text)
	}
}

// The clock line alarms only where codes start to fail (authcode's
// MaxClockSkew), and counts in words: "weicht um +1 Sekunden ab" was
// both alarming and ungrammatical.
func TestClockLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang   string
		offset float64
		want   string
	}{
		{"de", 1, "stimmt"},
		{"de", -29.6, "stimmt"},
		{"de", 30, "stimmt"},
		{"de", 31, "geht 31 Sekunden vor – Codes können abgelehnt werden"},
		{"de", -95, "geht 95 Sekunden nach – Codes können abgelehnt werden"},
		{"en", 1, "correct"},
		{"en", 40, "40 seconds fast – codes may be rejected"},
	}
	for _, tt := range tests {
		cat, err := i18n.Load(assets.Translations, assets.TranslationsDir, tt.lang)
		if err != nil {
			t.Fatal(err)
		}
		T := func(k string, a map[string]string) string { return cat.T(k, a) }
		off := tt.offset
		if got := clockLine(&off, T); got != tt.want {
			t.Errorf("clockLine(%v, %s) = %q, want %q", tt.offset, tt.lang, got, tt.want)
		}
	}
}
