package state

import "testing"

func TestValuePublishesOnlyOnChange(t *testing.T) {
	t.Parallel()
	v := NewValue(Update{State: "idle"})
	ch, cancel := v.Subscribe()
	defer cancel()
	<-ch
	if v.Set(func(u *Update) { u.State = "idle" }) {
		t.Error("Set reported a change for the same value")
	}
	select {
	case got := <-ch:
		t.Fatalf("no-op Set published %+v", got)
	default:
	}
	if !v.Set(func(u *Update) { u.State = "checking" }) {
		t.Error("Set reported no change")
	}
	if got := <-ch; got.State != "checking" {
		t.Errorf("published %+v", got)
	}
}

// Edge events must not collapse as a Value's states do: a subscriber
// that reads late still gets each one, in order.
func TestFeedKeepsEveryEvent(t *testing.T) {
	t.Parallel()
	var f Feed[string]
	ev := f.Subscribe()
	f.Publish("ready 0.2.0")
	f.Publish("ready 0.3.0")
	<-ev.Ready()
	got := ev.Take()
	if len(got) != 2 || got[0] != "ready 0.2.0" || got[1] != "ready 0.3.0" {
		t.Errorf("Take = %q", got)
	}
	ev.Close()
	f.Publish("after close")
	if got := ev.Take(); len(got) != 0 {
		t.Errorf("closed queue got %q", got)
	}
}
