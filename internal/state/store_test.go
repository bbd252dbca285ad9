package state

import (
	"encoding/json"
	"sync"
	"testing"
	"time"
)

func TestSessionNamesRoundTrip(t *testing.T) {
	t.Parallel()
	if got := len(Sessions()); got != 7 {
		t.Fatalf("Sessions() has %d states, PRODUCT.md names 7", got)
	}
	for _, s := range Sessions() {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("Marshal(%v): %v", s, err)
		}
		var back Session
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if back != s {
			t.Errorf("round trip of %v gave %v", s, back)
		}
	}
	var s Session
	if err := json.Unmarshal([]byte(`"sleeping"`), &s); err == nil {
		t.Error("Unmarshal accepted an unknown state")
	}
}

// No internet is set only by the health checks during a session whose
// tunnel and authorisation still hold: the session is active, so the
// agent keeps checking it, the menus offer "End", and an update waits
// for the real end (issue 13, #10). Problem is active only while a
// session runs: after a failed start nothing can be ended.
func TestActiveStates(t *testing.T) {
	t.Parallel()
	want := map[Session]bool{NotConnected: false, Connecting: true, Connected: true, Limited: true,
		NoInternet: true, CodeNeeded: false, Problem: true}
	for _, s := range Sessions() {
		if s.Active(true) != want[s] {
			t.Errorf("%v.Active(running) = %v, want %v", s, s.Active(true), want[s])
		}
	}
	want[Problem] = false
	for _, s := range Sessions() {
		if s.Active(false) != want[s] {
			t.Errorf("%v.Active(not running) = %v, want %v", s, s.Active(false), want[s])
		}
	}
}

func TestUpdateSetsSinceOnlyOnSessionChange(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	s := NewStore(Snapshot{}, func() time.Time { return clock })
	start := s.Snapshot().Since

	clock = clock.Add(time.Minute)
	s.Update(func(sn *Snapshot) { sn.Announce.Unread = 2 })
	if got := s.Snapshot().Since; !got.Equal(start) {
		t.Errorf("Since moved to %v on an unrelated change", got)
	}
	clock = clock.Add(time.Minute)
	s.Update(func(sn *Snapshot) { sn.Session = Connecting })
	if got := s.Snapshot().Since; !got.Equal(clock) {
		t.Errorf("Since = %v after session change, want %v", got, clock)
	}
}

func TestSubscriberGetsCurrentThenNewest(t *testing.T) {
	t.Parallel()
	s := NewStore(Snapshot{Session: NotConnected}, nil)
	ch, cancel := s.Subscribe()
	defer cancel()
	if first := <-ch; first.Session != NotConnected {
		t.Fatalf("first snapshot session = %v, want not_connected", first.Session)
	}
	// A burst while nobody reads collapses to the newest state.
	s.Update(func(sn *Snapshot) { sn.Session = Connecting })
	s.Update(func(sn *Snapshot) { sn.Session = Connected })
	got := <-ch
	if got.Session != Connected {
		t.Errorf("after burst got %v, want connected", got.Session)
	}
	select {
	case extra := <-ch:
		t.Errorf("unexpected extra snapshot %v", extra)
	default:
	}
}

// A subscriber that never reads must not block the publisher.
func TestStalledSubscriberDoesNotBlockPublisher(t *testing.T) {
	t.Parallel()
	s := NewStore(Snapshot{}, nil)
	_, cancel := s.Subscribe() // never read
	defer cancel()
	done := make(chan struct{})
	go func() {
		for i := 0; i < 1000; i++ {
			s.Update(func(sn *Snapshot) { sn.Announce.Unread = i })
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("publisher blocked on a stalled subscriber")
	}
	if got := s.Snapshot().Announce.Unread; got != 999 {
		t.Errorf("Unread = %d, want 999", got)
	}
}

func TestCancelStopsDelivery(t *testing.T) {
	t.Parallel()
	s := NewStore(Snapshot{}, nil)
	ch, cancel := s.Subscribe()
	<-ch
	cancel()
	cancel() // idempotent
	s.Update(func(sn *Snapshot) { sn.Session = Problem })
	select {
	case v := <-ch:
		t.Errorf("got %v after cancel", v)
	default:
	}
}

// Snapshots handed out are copies: changing one must not change the store.
func TestSnapshotIsACopy(t *testing.T) {
	t.Parallel()
	s := NewStore(Snapshot{}, nil)
	s.Update(func(sn *Snapshot) {
		sn.Health.Links = []Link{{Code: "internet", OK: true, Detail: Message{Key: "k", Args: map[string]string{"a": "1"}},
			History: []Sample{{OK: true, Latency: 12}}}}
	})
	snap := s.Snapshot()
	snap.Health.Links[0].OK = false
	snap.Health.Links[0].Detail.Args["a"] = "changed"
	snap.Health.Links[0].History[0].Latency = 999
	again := s.Snapshot()
	if !again.Health.Links[0].OK || again.Health.Links[0].Detail.Args["a"] != "1" || again.Health.Links[0].History[0].Latency != 12 {
		t.Errorf("store changed through a snapshot: %+v", again.Health.Links[0])
	}
}

func TestRecentErrorsKeepsNewestFive(t *testing.T) {
	t.Parallel()
	s := NewStore(Snapshot{}, nil)
	for i := 0; i < 8; i++ {
		s.AddError(Message{Key: "e", Args: map[string]string{"n": string(rune('0' + i))}})
	}
	errs := s.Snapshot().RecentErrors
	if len(errs) != 5 {
		t.Fatalf("kept %d errors, want 5", len(errs))
	}
	if errs[0].Message.Args["n"] != "3" || errs[4].Message.Args["n"] != "7" {
		t.Errorf("kept %v..%v, want 3..7", errs[0].Message.Args["n"], errs[4].Message.Args["n"])
	}
}

func TestConcurrentUpdatesAndSubscribers(t *testing.T) {
	t.Parallel()
	s := NewStore(Snapshot{}, nil)
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch, cancel := s.Subscribe()
			defer cancel()
			last := uint64(0)
			for i := 0; i < 50; i++ {
				v := <-ch
				if v.Seq < last {
					t.Errorf("seq went backwards: %d after %d", v.Seq, last)
				}
				last = v.Seq
				if v.Seq >= 200 {
					return
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		s.Update(func(sn *Snapshot) { sn.Announce.Unread++ })
	}
	wg.Wait()
}

// A write that repeats the current value must not wake subscribers or
// bump Seq: windows would redraw and followers react to nothing.
func TestUpdatePublishesOnlyOnChange(t *testing.T) {
	t.Parallel()
	s := NewStore(Snapshot{Session: Connected, Health: Health{Links: []Link{{Code: "internet", OK: true}}}}, nil)
	ch, cancel := s.Subscribe()
	defer cancel()
	first := <-ch

	same := s.Update(func(sn *Snapshot) {
		sn.Session = Connected
		sn.Health.Links = []Link{{Code: "internet", OK: true}}
		sn.RecentErrors = []ErrorEntry{} // empty, as the store's nil
	})
	if same.Seq != first.Seq {
		t.Errorf("Seq = %d after a no-op update, want %d", same.Seq, first.Seq)
	}
	select {
	case got := <-ch:
		t.Fatalf("no-op update published %v", got)
	default:
	}

	changed := s.Update(func(sn *Snapshot) { sn.Announce.Unread = 1 })
	if changed.Seq != first.Seq+1 {
		t.Errorf("Seq = %d after a change, want %d", changed.Seq, first.Seq+1)
	}
	select {
	case got := <-ch:
		if got.Announce.Unread != 1 {
			t.Errorf("published %+v, want unread 1", got.Announce)
		}
	default:
		t.Fatal("a change was not published")
	}
}
