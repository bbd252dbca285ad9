package ui

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/state"
)

// healthDE are the chain's German texts from
// /work/notes/health-translations.json, added here until they are part of
// assets/translations (adding them twice is harmless).
var healthDE = map[string]string{
	"health.chain.title":         "Verbindung im Einzelnen",
	"health.chain.changed":       "Zuletzt geändert: {{.Time}}",
	"health.chain.never":         "Noch nicht geprüft",
	"health.chain.latency":       "{{.Milliseconds}} ms",
	"health.chain.open_login":    "Anmeldeseite öffnen",
	"health.detail.ok":           "in Ordnung",
	"health.detail.skipped":      "nicht geprüft",
	"health.detail.timeout":      "keine Antwort",
	"health.detail.latency":      "{{.Milliseconds}} ms",
	"health.detail.resolved":     "{{.Name}} gefunden",
	"health.detail.captive":      "Anmeldeseite des WLANs",
	"health.detail.http_status":  "Dienst meldet Fehler {{.Status}}",
	"health.link.local_network":  "Heimnetz",
	"health.link.internet":       "Internet",
	"health.link.captive_portal": "Anmeldeseite",
	"health.link.portal":         "Portal",
	"health.link.gateway":        "Zugang",
	"health.link.office_dns":     "Namen im Büronetz",
}

var addHealthDE sync.Once

func healthTranslations(tb testing.TB) {
	tb.Helper()
	addHealthDE.Do(func() {
		b, _ := json.Marshal(healthDE)
		if err := lang.AddTranslationsForLocale(b, fyne.Locale("de")); err != nil {
			tb.Fatalf("AddTranslationsForLocale: %v", err)
		}
	})
}

var healthNow = time.Date(2026, 11, 23, 8, 30, 0, 0, time.UTC)

func okLink(code string) state.Link {
	return state.Link{Code: code, OK: true, Detail: state.Message{Key: "health.detail.ok"}}
}

func serviceHistory() []state.Sample {
	var h []state.Sample
	for i := range 90 {
		at := healthNow.Add(-time.Duration(89-i) * 10 * time.Second)
		lat := 10 + float64(i%7)*3
		h = append(h, state.Sample{At: at, OK: i != 60 && i != 61, Latency: lat})
	}
	return h
}

func connectedHealth() state.Health {
	return state.Health{
		Links: []state.Link{
			okLink("local_network"), okLink("internet"), okLink("captive_portal"), okLink("portal"), okLink("gateway"),
			{Code: "office_dns", OK: true, Detail: state.Message{Key: "health.detail.resolved", Args: map[string]string{"Name": "intranet.musterstadt.example"}}},
			{Code: "office_services", Target: "Intranet", OK: true, Latency: 12.4,
				Detail: state.Message{Key: "health.detail.latency", Args: map[string]string{"Milliseconds": "12"}}, History: serviceHistory()},
		},
		CheckedAt: healthNow,
		ChangedAt: healthNow.Add(-18 * time.Minute),
	}
}

func TestHealthChainGolden(t *testing.T) {
	healthTranslations(t)
	problem := connectedHealth()
	problem.Links[4] = state.Link{Code: "gateway", Detail: state.Message{Key: "health.detail.timeout"}}
	problem.Links[5] = state.Link{Code: "office_dns", Skipped: true, Detail: state.Message{Key: "health.detail.skipped"}}
	problem.Links[6] = state.Link{Code: "office_services", Target: "Intranet", Skipped: true, Detail: state.Message{Key: "health.detail.skipped"},
		History: problem.Links[6].History}
	problem.ChangedAt = healthNow
	captive := state.Health{
		Links: []state.Link{okLink("local_network"), okLink("internet"),
			{Code: "captive_portal", Detail: state.Message{Key: "health.detail.captive", Args: map[string]string{"URL": "http://login.hotel.test/"}}},
			okLink("portal")},
		CheckedAt: healthNow, ChangedAt: healthNow,
	}
	for _, tc := range []struct {
		name string
		h    state.Health
	}{
		{"connected", connectedHealth()},
		{"problem", problem},
		{"captive", captive},
		{"never", state.Health{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := test.NewTempApp(t)
			a.Settings().SetTheme(newTheme())
			c := NewHealthChain()
			c.Location = time.UTC
			var opened []string
			c.OnOpenLogin = func(u string) { opened = append(opened, u) }
			c.Apply(tc.h)
			w := test.NewWindow(c)
			t.Cleanup(w.Close)
			w.Resize(fyne.NewSize(560, 420))
			test.AssertRendersToMarkup(t, "health_"+tc.name+".xml", w.Canvas())
			if tc.name == "captive" {
				b := findButton(c.rows, "Anmeldeseite öffnen")
				if b == nil {
					t.Fatal("no button to open the login page")
				}
				test.Tap(b)
				if len(opened) != 1 || opened[0] != "http://login.hotel.test/" {
					t.Errorf("opened %v, want the login page", opened)
				}
			}
		})
	}
}

func findButton(o fyne.CanvasObject, text string) *widget.Button {
	switch v := o.(type) {
	case *widget.Button:
		if v.Text == text {
			return v
		}
	case *fyne.Container:
		for _, c := range v.Objects {
			if b := findButton(c, text); b != nil {
				return b
			}
		}
	}
	return nil
}

func TestHealthRowFor(t *testing.T) {
	healthTranslations(t)
	for _, tc := range []struct {
		name string
		link state.Link
		want HealthRow
	}{
		{"ok_link", okLink("gateway"), HealthRow{Name: "Zugang", OK: true, Detail: "in Ordnung"}},
		{"service_shows_latency_once", state.Link{Code: "office_services", Target: "Intranet", OK: true, Latency: 12.4,
			Detail: state.Message{Key: "health.detail.latency", Args: map[string]string{"Milliseconds": "12"}}},
			HealthRow{Name: "Intranet", OK: true, Latency: "12 ms"}},
		{"service_down", state.Link{Code: "office_services", Target: "Fachverfahren",
			Detail: state.Message{Key: "health.detail.http_status", Args: map[string]string{"Status": "503"}}},
			HealthRow{Name: "Fachverfahren", Detail: "Dienst meldet Fehler 503"}},
		{"skipped_is_neither", state.Link{Code: "office_dns", Skipped: true, Detail: state.Message{Key: "health.detail.skipped"}},
			HealthRow{Name: "Namen im Büronetz", Skipped: true, Detail: "nicht geprüft"}},
		{"captive_offers_login", state.Link{Code: "captive_portal",
			Detail: state.Message{Key: "health.detail.captive", Args: map[string]string{"URL": "http://login.hotel.test/"}}},
			HealthRow{Name: "Anmeldeseite", Detail: "Anmeldeseite des WLANs", Login: "http://login.hotel.test/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HealthRowFor(tc.link); got != tc.want {
				t.Errorf("HealthRowFor = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSparkPoints(t *testing.T) {
	t.Parallel()
	size := fyne.NewSize(90, 24)
	samples := []state.Sample{
		{At: healthNow.Add(-20 * time.Minute), OK: true, Latency: 50}, // outside the window
		{At: healthNow.Add(-15 * time.Minute), OK: true, Latency: 10},
		{At: healthNow.Add(-10 * time.Minute), OK: true, Latency: 20},
		{At: healthNow.Add(-5 * time.Minute), OK: false},
		{At: healthNow, OK: true, Latency: 20},
	}
	segs, fails := sparkPoints(samples, healthNow, size)
	// A dot at -15, a line to -10, a gap at the failure, a dot at 0.
	if len(segs) != 3 || len(fails) != 1 {
		t.Fatalf("segments %v fails %v", segs, fails)
	}
	if segs[0][0].X != 0 || segs[2][0].X != 90 || fails[0] != 60 {
		t.Errorf("x positions %v %v, want 0 … 60 … 90", segs, fails)
	}
	if segs[1][1].Y >= segs[1][0].Y {
		t.Errorf("higher latency not drawn higher: %v", segs[1])
	}
}
