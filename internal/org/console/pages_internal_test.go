package console

import (
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

// The helpdesk page's sentence about setup agrees with its device list in
// every case.
func TestSetupStatus(t *testing.T) {
	t.Parallel()
	confirmed := time.Date(2026, 11, 2, 8, 10, 0, 0, time.UTC)
	registered := time.Date(2026, 11, 2, 8, 14, 0, 0, time.UTC)
	active := store.Device{ID: "d1", Name: "Laptop Anna", CreatedAt: registered}
	older := store.Device{ID: "d0", Name: "Alter Laptop", CreatedAt: registered.Add(-48 * time.Hour)}
	revoked := store.Device{ID: "d2", Name: "Verloren", CreatedAt: registered, RevokedAt: registered.Add(time.Hour)}
	for _, tc := range []struct {
		name    string
		user    store.User
		devices []store.Device
		want    string
	}{
		{"not_started", store.User{}, nil, "Noch nicht eingerichtet: Die Person hat noch kein Gerät registriert."},
		{"authenticator_only", store.User{EnrolledAt: confirmed}, nil,
			"Einrichtung nicht abgeschlossen: Die Authenticator-App ist seit 02.11.2026 09:10 Uhr bestätigt, aber noch kein Gerät registriert."},
		{"finished", store.User{EnrolledAt: confirmed}, []store.Device{older, active, revoked},
			"Einrichtung abgeschlossen am 02.11.2026 09:14 Uhr (Gerät „Laptop Anna“)."},
		// A device is only registered at the end of setup: it wins over a
		// missing confirmation time (older records, imports).
		{"device_without_confirmation_time", store.User{}, []store.Device{active},
			"Einrichtung abgeschlossen am 02.11.2026 09:14 Uhr (Gerät „Laptop Anna“)."},
		{"only_revoked", store.User{EnrolledAt: confirmed}, []store.Device{revoked},
			"Kein aktives Gerät: Das Gerät ist gesperrt. Für ein neues Gerät braucht die Person einen neuen Aktivierungscode."},
		{"all_revoked", store.User{EnrolledAt: confirmed}, []store.Device{revoked, revoked},
			"Kein aktives Gerät: Alle Geräte sind gesperrt. Für ein neues Gerät braucht die Person einen neuen Aktivierungscode."},
		{"disabled", store.User{EnrolledAt: confirmed, DisabledAt: registered.Add(24 * time.Hour)}, []store.Device{revoked},
			"Kein aktives Gerät: Das Gerät ist gesperrt. Für ein neues Gerät braucht die Person einen neuen Aktivierungscode. " +
				"Das Konto ist seit 03.11.2026 09:14 Uhr abgeschaltet; nur die IT kann es wieder freigeben."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := setupStatus(tc.user, tc.devices); got != tc.want {
				t.Errorf("setupStatus = %q\nwant           %q", got, tc.want)
			}
		})
	}
}

func TestDayAndTime(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name, sent, now, want string
	}{
		{"today", "2026-11-30 09:14", "2026-11-30 09:20", "heute 9:14 Uhr"},
		{"today_afternoon", "2026-11-30 16:05", "2026-11-30 23:59", "heute 16:05 Uhr"},
		{"yesterday_late", "2026-11-29 23:50", "2026-11-30 00:10", "gestern 23:50 Uhr"},
		{"older", "2026-11-27 17:02", "2026-11-30 09:20", "am 27.11.2026 um 17:02 Uhr"},
		// The night the clocks go back has 25 hours; still "gestern".
		{"yesterday_across_clock_change", "2026-10-24 23:30", "2026-10-25 23:45", "gestern 23:30 Uhr"},
		{"spring_forward_day", "2026-03-28 23:30", "2026-03-29 00:15", "gestern 23:30 Uhr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The portal's clock is UTC; the page speaks Berlin time.
			if got := dayAndTime(at(tc.sent).UTC(), at(tc.now).UTC()); got != tc.want {
				t.Errorf("dayAndTime(%s, now %s) = %q, want %q", tc.sent, tc.now, got, tc.want)
			}
		})
	}
}
