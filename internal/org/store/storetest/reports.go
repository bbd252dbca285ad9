package storetest

import (
	"errors"
	"fmt"
	"sync"
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
		{"reports_parallel_same_code", testReportsParallelSameCode},
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
	// A code belongs to the device that sent it first: another device
	// sending it (a hostile one, or a copied machine id) stores nothing,
	// and the helpdesk still sees the first device's state.
	if err := s.PutReport(ctx, store.Report{DeviceID: "dev3", User: "carla", SupportCode: "DW-AAAA-AA", ReceivedAt: t0.Add(3 * time.Minute), Body: []byte(`{"n":4}`)}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("dev3 sending dev1's code: %v, want ErrConflict", err)
	}
	if got, err := s.ReportBySupportCode(ctx, "DW-AAAA-AA"); err != nil || got.DeviceID != "dev1" || got.User != "anna" || string(got.Body) != "{\"n\":3}\x00\xff" {
		t.Errorf("after another device sent dev1's code: %+v, %v; want dev1's report", got, err)
	}
	// dev3 had no report before and has none now; with a code of its own
	// it is stored.
	put("dev3", "carla", "DW-DDDD-DD", t0.Add(4*time.Minute), `{"n":6}`)
	if got, err := s.ReportBySupportCode(ctx, "DW-DDDD-DD"); err != nil || got.DeviceID != "dev3" {
		t.Errorf("dev3 with its own code = %+v, %v", got, err)
	}
	// A device that has a report cannot take over another's code either,
	// and keeps its own report.
	if err := s.PutReport(ctx, store.Report{DeviceID: "dev3", User: "carla", SupportCode: "DW-BBBB-BB", ReceivedAt: t0.Add(5 * time.Minute), Body: []byte(`{}`)}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("dev3 sending dev2's code: %v, want ErrConflict", err)
	}
	if got, err := s.ReportBySupportCode(ctx, "DW-DDDD-DD"); err != nil || got.DeviceID != "dev3" || string(got.Body) != `{"n":6}` {
		t.Errorf("dev3's own report after a refused one = %+v, %v", got, err)
	}
	// A device whose support code changed is no longer found by the old
	// one, which is free again.
	put("dev2", "bernd", "DW-CCCC-CC", t0.Add(6*time.Minute), `{"n":5}`)
	if _, err := s.ReportBySupportCode(ctx, "DW-BBBB-BB"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old code after change: %v, want ErrNotFound", err)
	}
	put("dev4", "dora", "DW-BBBB-BB", t0.Add(7*time.Minute), `{"n":7}`)
	if got, err := s.ReportBySupportCode(ctx, "DW-BBBB-BB"); err != nil || got.DeviceID != "dev4" {
		t.Errorf("a freed code sent by another device = %+v, %v; want dev4", got, err)
	}
}

// Devices sending one new code at once, each from its own portal
// instance: exactly one gets it, and its report is the one found.
func testReportsParallelSameCode(t *testing.T, open Opener) {
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	handles := make([]store.Store, n)
	for i := range handles {
		handles[i] = open(t)
	}
	for i := range n {
		wg.Go(func() {
			errs[i] = handles[i].PutReport(ctx, store.Report{DeviceID: fmt.Sprintf("dev%d", i), User: "anna", SupportCode: "DW-EEEE-EE", ReceivedAt: t0, Body: []byte("{}")})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("dev%d and dev%d both got the code", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("dev%d: %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no device got the code")
	}
	if got, err := handles[0].ReportBySupportCode(ctx, "DW-EEEE-EE"); err != nil || got.DeviceID != fmt.Sprintf("dev%d", winner) {
		t.Errorf("ReportBySupportCode = %+v, %v; want dev%d", got, err, winner)
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
