package console_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/console"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// A device sends its report through the portal API with its credential,
// as the agent does when the employee presses "An den IT-Service
// senden"; the helpdesk types the support code as heard and sees that
// report: when it was sent, version, last screen, connection, health
// chain and recent errors, and whose device it is.
func TestHelpdeskShowsReportSentByDevice(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.reports.next = console.PortalReports(e.Server, e.Store)
	ctx := context.Background()

	activation := e.AddUser(t, "carla", "Carla Beispiel", "bauamt")
	pc := e.Client(t, nil)
	en, err := pc.StartEnrollment(ctx, "carla", activation)
	if err != nil {
		t.Fatalf("StartEnrollment: %v", err)
	}
	if _, err := pc.ConfirmEnrollment(ctx, en.EnrollmentID, authcodetest.Code(t, en.Secret, e.Clock.Now())); err != nil {
		t.Fatalf("ConfirmEnrollment: %v", err)
	}
	if _, err := pc.RegisterDevice(ctx, en.EnrollmentID, portaltest.NewWGKey(), "nb-carla"); err != nil {
		t.Fatalf("RegisterDevice: %v", err)
	}
	sent, err := pc.SendReport(ctx, api.DeviceReport{
		SupportCode: "DW-7K3F-Q9", Version: "1.4.0", OS: "linux/amd64", TunnelMode: "userspace", Session: "limited",
		Headline: "Verbunden, aber eingeschränkt", Screen: "C1",
		Health: []api.ReportLink{
			{Code: "internet", Name: "Internet", OK: true, Detail: "12 ms"},
			{Code: "office_services", Name: "Dienste im Büro: Fachverfahren", OK: false, Detail: "antwortet nicht"},
		},
		Errors:    []api.ReportError{{Time: time.Date(2026, 1, 5, 7, 58, 0, 0, time.UTC), Text: "Der Bestätigungscode stimmt nicht."}},
		CreatedAt: e.Clock.Now(),
	})
	if err != nil {
		t.Fatalf("SendReport: %v", err)
	}

	// Another set-up laptop sends Carla's code an hour later: refused.
	e.Clock.Advance(time.Hour)
	other := e.addDevice(t, "bernd", "nb-bernd")
	_, err = other.portal.SendReport(ctx, api.DeviceReport{SupportCode: "DW-7K3F-Q9", Version: "9.9.9", OS: "linux/amd64", Session: "connected", Screen: "E1"})
	var pe *portal.Error
	if !errors.As(err, &pe) || pe.Kind != portal.KindSupportCodeTaken {
		t.Fatalf("another laptop sending Carla's code: %v, want it refused as taken", err)
	}

	b := e.client(t)
	if got := b.signIn(e.hd, e.hd.password); got != http.StatusSeeOther {
		t.Fatalf("helpdesk sign-in = %d", got)
	}
	res, page := b.do("GET", "/console/helpdesk?"+url.Values{"code": {"dw 7k3f q9"}}.Encode(), nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("helpdesk page = %d", res.StatusCode)
	}
	page = html.UnescapeString(page)
	for _, want := range []string{
		"Zuletzt gesendet: <time datetime=\"" + sent.UTC().Format(time.RFC3339) + "\" title=\"" + sent.In(berlinTZ(t)).Format("02.01.2006 15:04") + "\">heute " +
			strings.TrimPrefix(sent.In(berlinTZ(t)).Format("15:04"), "0") + " Uhr</time>",
		"Einrichtung abgeschlossen am", "(hat den Bericht oben gesendet)",
		"1.4.0", "C1", "carla", "nb-carla",
		"Verbunden, aber eingeschränkt", "linux/amd64, nur über den Proxy",
		"Dienste im Büro: Fachverfahren", "antwortet nicht", "Internet", "12 ms",
		"05.01. 08:58 – Der Bestätigungscode stimmt nicht.",
		"Carla Beispiel", // the person's part of the page follows the report
	} {
		if !strings.Contains(page, want) {
			t.Errorf("helpdesk page lacks %q", want)
		}
	}
	for _, wrong := range []string{"Noch kein Bericht", "9.9.9", "nb-bernd", "Bernd Muster"} {
		if strings.Contains(page, wrong) {
			t.Errorf("helpdesk page for Carla's code shows %q", wrong)
		}
	}
	_, page = b.do("GET", "/console/helpdesk?code=DW-2345-67", nil)
	if !strings.Contains(page, "Noch kein Bericht") {
		t.Errorf("an unknown code does not say there is no report")
	}
}

func berlinTZ(tb testing.TB) *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		tb.Fatal(err)
	}
	return l
}
