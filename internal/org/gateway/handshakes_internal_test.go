package gateway

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
)

// memSink records reports; err, if set, refuses them.
type memSink struct {
	reports [][]portalsrv.PeerHandshake
	err     error
}

func (m *memSink) ReportHandshakes(_ context.Context, hs []portalsrv.PeerHandshake) error {
	if m.err != nil {
		return m.err
	}
	m.reports = append(m.reports, append([]portalsrv.PeerHandshake(nil), hs...))
	return nil
}

func peer(i int, hs time.Time) PeerStatus {
	return PeerStatus{Peer: portalsrv.Peer{DeviceID: fmt.Sprint("dev", i), PublicKey: fmt.Sprint("key", i)}, LastHandshake: hs}
}

// First handshakes go at once, rekeys of connected peers together at
// most every handshakeBatch, never one twice; a failure holds reports
// back and loses nothing.
func TestHandshakeReporterSendsNewsCheaply(t *testing.T) {
	t.Parallel()
	sink := &memSink{}
	r := handshakeReporter{sink: sink, reported: map[string]time.Time{}}
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	step := func(now time.Time, peers ...PeerStatus) []portalsrv.PeerHandshake {
		t.Helper()
		before := len(sink.reports)
		if err := r.report(context.Background(), peers, now); err != nil && sink.err == nil {
			t.Fatalf("report: %v", err)
		}
		if len(sink.reports) == before {
			return nil
		}
		return sink.reports[len(sink.reports)-1]
	}
	if got := step(t0, peer(1, time.Time{})); got != nil {
		t.Fatalf("a peer without handshake was reported: %+v", got)
	}
	got := step(t0, peer(1, t0.Add(-3*time.Second)))
	if len(got) != 1 || got[0] != (portalsrv.PeerHandshake{DeviceID: "dev1", PublicKey: "key1", AgeSeconds: 3}) {
		t.Fatalf("first handshake reported as %+v, want dev1 aged 3 s", got)
	}
	if got := step(t0.Add(2*time.Second), peer(1, t0.Add(-3*time.Second))); got != nil {
		t.Errorf("the same handshake again: %+v", got)
	}
	// A rekey soon after the last report waits for the batch …
	rekey := t0.Add(handshakeBatch / 2)
	if got := step(rekey, peer(1, rekey)); got != nil {
		t.Errorf("a rekey went at once: %+v", got)
	}
	if got := step(t0.Add(handshakeBatch), peer(1, rekey)); len(got) != 1 || got[0].DeviceID != "dev1" {
		t.Errorf("the rekey after the batch interval: %+v, want dev1", got)
	}
	rekey = t0.Add(handshakeBatch + 5*time.Second)
	// … unless another peer's first handshake goes anyway.
	got = step(rekey.Add(time.Second), peer(1, rekey), peer(2, rekey))
	if len(got) != 2 {
		t.Errorf("with a first handshake, all news go: %+v", got)
	}
	// A handshake after a long pause counts as first (back from
	// another gateway).
	back := rekey.Add(10 * time.Minute)
	if got := step(back, peer(1, back), peer(2, rekey)); len(got) != 1 || got[0].DeviceID != "dev1" {
		t.Errorf("return after a pause: %+v, want dev1 at once", got)
	}
	// Many news go in reports of at most MaxHandshakesPerReport.
	var many []PeerStatus
	for i := range 250 {
		many = append(many, peer(100+i, back))
	}
	before := len(sink.reports)
	step(back.Add(time.Second), many...)
	if n := len(sink.reports) - before; n != 3 || len(sink.reports[before]) != portalsrv.MaxHandshakesPerReport {
		t.Errorf("250 news in %d reports (first %d), want 3 of at most %d", n, len(sink.reports[before]), portalsrv.MaxHandshakesPerReport)
	}
	// A refused report is held back and then sent whole.
	sink.err = errors.New("portal away")
	fresh := back.Add(time.Minute)
	if err := r.report(context.Background(), []PeerStatus{peer(7, fresh)}, fresh); err == nil {
		t.Fatalf("refused report returned no error")
	}
	sink.err = nil
	if got := step(fresh.Add(time.Second), peer(7, fresh)); got != nil {
		t.Errorf("sent again before the back-off: %+v", got)
	}
	if got := step(fresh.Add(time.Minute), peer(7, fresh)); len(got) != 1 || got[0].DeviceID != "dev7" {
		t.Errorf("after the back-off: %+v, want dev7", got)
	}
}
