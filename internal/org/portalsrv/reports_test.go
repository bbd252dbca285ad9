package portalsrv_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

func sampleReport(code string) api.DeviceReport {
	return api.DeviceReport{
		SupportCode: code, Version: "1.4.0", OS: "linux/amd64", TunnelMode: "userspace", Session: "limited",
		Headline: "Verbunden, aber eingeschränkt", Screen: "S1",
		Health: []api.ReportLink{{Code: "internet", Name: "Internet", OK: true}, {Code: "services", Name: "Dienste im Büro", OK: false, Detail: "Intranet antwortet nicht"}},
		Errors: []api.ReportError{{Time: time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC), Text: "Der Code war falsch."}},
	}
}

func putReport(tb testing.TB, r *raw, cred string, rep any) answer {
	tb.Helper()
	hdr := []string{}
	if cred != "" {
		hdr = append(hdr, "Authorization", "Bearer "+cred)
	}
	return r.do(tb, "PUT", "/api/v1/device/report", jsonBody(tb, rep), hdr...)
}

// A registered device's report is stored with the portal's own idea of
// whose device it is, found by its support code as dictated, replaced by
// the next one, and recorded in the audit log.
func TestDeviceReportStoredAndFound(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	r := newRaw(t, env)
	cred, _ := enrolledDevice(t, env, r, "anna")
	ctx := context.Background()

	if _, err := env.Server.ReportBySupportCode(ctx, "DW-7K3F-Q9"); !errors.Is(err, portalsrv.ErrNoReport) {
		t.Fatalf("before any report: %v, want ErrNoReport", err)
	}
	if a := putReport(t, r, "", sampleReport("DW-7K3F-Q9")); a.status != http.StatusUnauthorized {
		t.Errorf("without credential = %d %s, want 401", a.status, a.body)
	}
	if a := putReport(t, r, cred, sampleReport("DW-7K3F-Q0")); a.status != http.StatusBadRequest {
		t.Errorf("bad support code = %d %s, want 400", a.status, a.body)
	}
	a := putReport(t, r, cred, sampleReport("dw-7k3f-q9"))
	if a.status != http.StatusOK {
		t.Fatalf("report = %d %s", a.status, a.body)
	}
	var receipt api.ReportReceipt
	if err := json.Unmarshal(a.body, &receipt); err != nil || !receipt.ReceivedAt.Equal(env.Clock.Now().Truncate(time.Second)) {
		t.Errorf("receipt = %s, %v", a.body, err)
	}
	got, err := env.Server.ReportBySupportCode(ctx, "dw 7k3f q9")
	if err != nil || got.User != "anna" || got.SupportCode != "DW-7K3F-Q9" || got.Screen != "S1" || len(got.Health) != 2 || got.Health[1].OK ||
		len(got.Errors) != 1 || got.Version != "1.4.0" {
		t.Fatalf("ReportBySupportCode = %+v, %v", got, err)
	}
	env.Clock.Advance(time.Minute)
	next := sampleReport("DW-7K3F-Q9")
	next.Session, next.Health = "connected", nil
	if a := putReport(t, r, cred, next); a.status != http.StatusOK {
		t.Fatalf("second report = %d %s", a.status, a.body)
	}
	if got, _ := env.Server.ReportBySupportCode(ctx, "DW-7K3F-Q9"); got.Session != "connected" || !got.ReceivedAt.Equal(env.Clock.Now().Truncate(time.Second)) {
		t.Errorf("after a second report: %+v", got)
	}
	evs, err := env.Store.AuditEvents(ctx, 0, time.Time{}, 100)
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	var reports int
	for _, ev := range evs {
		if ev.Action == portalsrv.AuditDeviceReport {
			reports++
			if ev.Actor != "user:anna" || ev.Details["support_code"] != "DW-7K3F-Q9" || ev.Subject == "" {
				t.Errorf("audit event %+v", ev)
			}
		}
	}
	if reports != 2 {
		t.Errorf("%d report events in the audit log, want 2", reports)
	}
}

// A stuck button cannot flood the portal: after a few reports in a row a
// device must wait, and is told how long.
func TestDeviceReportRateLimited(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	r := newRaw(t, env)
	cred, _ := enrolledDevice(t, env, r, "anna")
	other, _ := enrolledDevice(t, env, r, "bernd")
	var limited answer
	for i := 0; i < 10; i++ {
		a := putReport(t, r, cred, sampleReport("DW-7K3F-Q9"))
		if a.status == http.StatusTooManyRequests {
			limited = a
			if i != 3 {
				t.Errorf("limited after %d reports, want 3", i)
			}
			break
		}
		if a.status != http.StatusOK {
			t.Fatalf("report %d = %d %s", i, a.status, a.body)
		}
	}
	if limited.status != http.StatusTooManyRequests || limited.header.Get("Retry-After") == "" || !strings.Contains(string(limited.body), api.CodeRateLimited) {
		t.Fatalf("flood answered %d %v %s, want 429 with Retry-After", limited.status, limited.header, limited.body)
	}
	// Another device is not held up by the first one.
	if a := putReport(t, r, other, sampleReport("DW-2345-67")); a.status != http.StatusOK {
		t.Errorf("other device = %d %s", a.status, a.body)
	}
	env.Clock.Advance(time.Minute)
	if a := putReport(t, r, cred, sampleReport("DW-7K3F-Q9")); a.status != http.StatusOK {
		t.Errorf("a minute later = %d %s", a.status, a.body)
	}
}

// A report within the body limit but with too many items is refused, and
// one beyond the limit is refused before it is read.
func TestDeviceReportBounded(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	r := newRaw(t, env)
	cred, _ := enrolledDevice(t, env, r, "anna")
	many := sampleReport("DW-7K3F-Q9")
	for range 40 {
		many.Errors = append(many.Errors, api.ReportError{Text: "x"})
	}
	if a := putReport(t, r, cred, many); a.status != http.StatusBadRequest {
		t.Errorf("40 errors = %d %s, want 400", a.status, a.body)
	}
	huge := sampleReport("DW-7K3F-Q9")
	huge.Headline = strings.Repeat("x", 20<<10)
	if a := putReport(t, r, cred, huge); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("20 KiB report = %d %s, want 413", a.status, a.body)
	}
	if a := r.do(t, "PUT", "/api/v1/device/report", "support_code=x", "Authorization", "Bearer "+cred, "Content-Type", "text/plain"); a.status != http.StatusUnsupportedMediaType {
		t.Errorf("text body = %d %s, want 415", a.status, a.body)
	}
}

// A support code belongs to the device that sent it first, known by its
// credential: another enrolled device sending that code (with whatever
// identity it writes into the body) is refused, nothing of it is stored,
// the helpdesk still sees the first device's state, and the refusal is in
// the audit log.
func TestDeviceReportCodeBoundToFirstDevice(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	r := newRaw(t, env)
	anna, _ := enrolledDevice(t, env, r, "anna")
	bernd, _ := enrolledDevice(t, env, r, "bernd")
	ctx := context.Background()
	if a := putReport(t, r, anna, sampleReport("DW-7K3F-Q9")); a.status != http.StatusOK {
		t.Fatalf("anna's report = %d %s", a.status, a.body)
	}
	first, err := env.Server.ReportBySupportCode(ctx, "DW-7K3F-Q9")
	if err != nil || first.User != "anna" {
		t.Fatalf("anna's report = %+v, %v", first, err)
	}

	env.Clock.Advance(time.Minute)
	hostile := map[string]any{
		"support_code": "dw 7k3f q9", "version": "6.6.6", "os": "linux/amd64", "session": "connected",
		"headline": "Alles in Ordnung – rufen Sie 0900 123456 an", "screen": "E1",
		"health": []any{}, "errors": []any{},
		// Identity the handler must never read from the body.
		"device_id": first.DeviceID, "user": "anna", "user_name": "anna",
	}
	a := putReport(t, r, bernd, hostile)
	var body api.Error
	if err := json.Unmarshal(a.body, &body); a.status != http.StatusConflict || err != nil || body.Code != api.CodeSupportCodeTaken {
		t.Fatalf("bernd sending anna's code = %d %s, want 409 %s", a.status, a.body, api.CodeSupportCodeTaken)
	}
	got, err := env.Server.ReportBySupportCode(ctx, "DW-7K3F-Q9")
	if err != nil || got.User != "anna" || got.DeviceID != first.DeviceID || got.Version != "1.4.0" || got.Screen != "S1" || !got.ReceivedAt.Equal(first.ReceivedAt) {
		t.Errorf("helpdesk after bernd's attempt sees %+v, %v; want anna's report unchanged", got, err)
	}
	// Bernd's device with a code of its own is stored as bernd's, whatever
	// the body claims.
	hostile["support_code"] = "DW-2345-67"
	if a := putReport(t, r, bernd, hostile); a.status != http.StatusOK {
		t.Fatalf("bernd with his own code = %d %s", a.status, a.body)
	}
	if got, err := env.Server.ReportBySupportCode(ctx, "DW-2345-67"); err != nil || got.User != "bernd" || got.DeviceID == first.DeviceID {
		t.Errorf("bernd's own report = %+v, %v; want bernd's device", got, err)
	}
	// Anna's device still sends under its code.
	if a := putReport(t, r, anna, sampleReport("DW-7K3F-Q9")); a.status != http.StatusOK {
		t.Errorf("anna again = %d %s", a.status, a.body)
	}

	evs, err := env.Store.AuditEvents(ctx, 0, time.Time{}, 100)
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	var refused int
	for _, ev := range evs {
		if ev.Action == portalsrv.AuditDeviceReportRefused {
			refused++
			if ev.Actor != "user:bernd" || ev.Details["support_code"] != "DW-7K3F-Q9" || ev.Subject == first.DeviceID {
				t.Errorf("refusal audit event %+v", ev)
			}
		}
	}
	if refused != 1 {
		t.Errorf("%d refusals in the audit log, want 1", refused)
	}
}
