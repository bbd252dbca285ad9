package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
)

// The device reports (store.Reports) run in the same suite.
func init() {
	tests = append(tests, []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"reports_by_support_code", testReportsBySupportCode},
		{"reports_pruned_by_age", testReportsPrunedByAge},
	}...)
}

func testReportsBySupportCode(t *testing.T, open Opener) {
	s := open(t)
	if _, err := s.ReportBySupportCode(ctx, "DW-AAAA-AA"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no report yet: %v, want ErrNotFound", err)
	}
	put := func(dev, user, code string, at time.Time, body string) {
		t.Helper()
		must(t, "PutReport", s.PutReport(ctx, store.Report{DeviceID: dev, User: user, SupportCode: code, ReceivedAt: at, Body: []byte(body)}))
	}
	put("dev1", "anna", "DW-AAAA-AA", t0, `{"n":1}`)
	put("dev2", "bernd", "DW-BBBB-BB", t0.Add(time.Minute), `{"n":2}`)
	// A second report of dev1 replaces its first.
	put("dev1", "anna", "DW-AAAA-AA", t0.Add(2*time.Minute), "{\"n\":3}\x00\xff")
	got, err := s.ReportBySupportCode(ctx, "DW-AAAA-AA")
	if err != nil || got.DeviceID != "dev1" || got.User != "anna" || got.SupportCode != "DW-AAAA-AA" ||
		!got.ReceivedAt.Equal(t0.Add(2*time.Minute)) || string(got.Body) != "{\"n\":3}\x00\xff" {
		t.Fatalf("ReportBySupportCode = %+v, %v", got, err)
	}
	// Another handle (another portal instance) sees the same.
	if got, err := open(t).ReportBySupportCode(ctx, "DW-BBBB-BB"); err != nil || got.DeviceID != "dev2" || string(got.Body) != `{"n":2}` {
		t.Errorf("other handle: %+v, %v", got, err)
	}
	// Two devices with one code (a copied machine id): the newest wins.
	put("dev3", "carla", "DW-AAAA-AA", t0.Add(3*time.Minute), `{"n":4}`)
	if got, err := s.ReportBySupportCode(ctx, "DW-AAAA-AA"); err != nil || got.DeviceID != "dev3" {
		t.Errorf("newest of two devices = %+v, %v; want dev3", got, err)
	}
	// A device whose support code changed is no longer found by the old one.
	put("dev2", "bernd", "DW-CCCC-CC", t0.Add(4*time.Minute), `{"n":5}`)
	if _, err := s.ReportBySupportCode(ctx, "DW-BBBB-BB"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old code after change: %v, want ErrNotFound", err)
	}
}

func testReportsPrunedByAge(t *testing.T, open Opener) {
	s := open(t)
	must(t, "PutReport", s.PutReport(ctx, store.Report{DeviceID: "old", User: "anna", SupportCode: "DW-AAAA-AA", ReceivedAt: t0, Body: []byte("{}")}))
	must(t, "PutReport", s.PutReport(ctx, store.Report{DeviceID: "new", User: "bernd", SupportCode: "DW-BBBB-BB", ReceivedAt: t0.Add(24 * time.Hour), Body: []byte("{}")}))
	must(t, "Prune", s.Prune(ctx, t0.Add(store.KeepReports+time.Hour)))
	if _, err := s.ReportBySupportCode(ctx, "DW-AAAA-AA"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("report older than KeepReports kept: %v", err)
	}
	if _, err := s.ReportBySupportCode(ctx, "DW-BBBB-BB"); err != nil {
		t.Errorf("recent report pruned: %v", err)
	}
}
