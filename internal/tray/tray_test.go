package tray

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
)

// fakeClient streams the snapshots a test sends and records actions.
type fakeClient struct {
	snaps chan state.Snapshot
	// onCheckUpdate, if set, runs on CheckUpdate (before it returns).
	onCheckUpdate func()
	mu            sync.Mutex
	quits         int
	opened        []string
	changed       chan struct{} // gets a value after every recorded action
}

func newFakeClient() *fakeClient {
	return &fakeClient{snaps: make(chan state.Snapshot, 8), changed: make(chan struct{}, 1)}
}

func (c *fakeClient) record(f func()) {
	c.mu.Lock()
	f()
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// waitActions waits until ok accepts the windows opened and the quits.
func (c *fakeClient) waitActions(ctx context.Context, t *testing.T, ok func(opened []string, quits int) bool) {
	t.Helper()
	for {
		c.mu.Lock()
		opened, quits := append([]string(nil), c.opened...), c.quits
		c.mu.Unlock()
		if ok(opened, quits) {
			return
		}
		select {
		case <-c.changed:
		case <-ctx.Done():
			t.Fatalf("opened %v, quits %d: not what the test waits for", opened, quits)
		}
	}
}

func (c *fakeClient) Watch(ctx context.Context, _ string) (<-chan localapi.Event, error) {
	out := make(chan localapi.Event)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-c.snaps:
				situation.Derive(&s) // as the agent's store does on every write
				select {
				case out <- localapi.Event{Type: localapi.EventState, State: &s}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

func (c *fakeClient) OpenWindow(_ context.Context, w string) error {
	c.record(func() { c.opened = append(c.opened, w) })
	return nil
}
func (c *fakeClient) EndSession(context.Context) error { return nil }
func (c *fakeClient) CheckUpdate(context.Context) error {
	if c.onCheckUpdate != nil {
		c.onCheckUpdate()
	}
	return nil
}
func (c *fakeClient) SetSafeMode(context.Context, bool) error { return nil }
func (c *fakeClient) Quit(context.Context) error {
	c.record(func() { c.quits++ })
	return nil
}

// A process can show its tray, end it and show it again: the agent's
// tests (and an agent that restarts its tray) do. Each run registers a
// complete item with exactly its own menu, follows state, and ending it
// leaves the process's shared session-bus connection, which the keyring
// and others use, open.
func TestRunTwiceInOneProcess(t *testing.T) {
	dbustest.PrivateBus(t)
	watcher := dbustest.StartWatcher(t)
	// Connected before the tray runs, as the keyring's connection is.
	shared, err := dbus.SessionBus()
	if err != nil {
		t.Fatalf("SessionBus: %v", err)
	}
	t.Cleanup(func() { shared.Close() })
	cat, err := i18n.Load(assets.Translations, assets.TranslationsDir, i18n.German)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	for run := 1; run <= 3; run++ {
		c := newFakeClient()
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			Run(runCtx, c, Options{Catalog: cat, Panel: assets.PanelLight})
		}()
		item, err := watcher.WaitItem(ctx)
		if err != nil {
			t.Fatalf("run %d: WaitItem: %v", run, err)
		}
		menu, err := item.Menu(ctx)
		if err != nil {
			t.Fatalf("run %d: Menu: %v", run, err)
		}
		c.snaps <- judged(state.Snapshot{Session: state.Connected, TrayVisible: true})
		// The state line and the hidden Start come from the snapshot,
		// after the whole menu is built.
		layout, err := menu.WaitLayout(ctx, func(n dbustest.MenuNode) bool {
			line, ok := n.FindByLabel("Verbunden – alles in Ordnung")
			start, _ := n.FindByLabel("Homeoffice starten")
			return ok && line.Visible && !start.Visible
		})
		if err != nil {
			t.Fatalf("run %d: menu never followed the state: %v", run, err)
		}
		// Exactly one menu: nothing left over from an earlier run.
		if got, want := len(layout.Children), 14; got != want {
			t.Errorf("run %d: menu has %d entries, want %d: %v", run, got, want, layout.Labels())
		}
		if title, err := item.Title(ctx); err != nil || title != "Dienstweg" {
			t.Errorf("run %d: Title = %q, %v", run, title, err)
		}
		stop()
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatalf("run %d: Run did not return after its context ended", run)
		}
		if err := watcher.WaitUnregistered(ctx, item); err != nil {
			t.Fatalf("run %d: item stayed on the bus after Run returned: %v", run, err)
		}
		if err := shared.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.Peer.Ping", 0).Err; err != nil {
			t.Fatalf("run %d: the shared session-bus connection no longer works after the tray ended: %v", run, err)
		}
	}
}
