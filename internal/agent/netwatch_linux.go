//go:build linux

package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/dienstweg/dienstweg/internal/session"
)

// routeWatch is a subscription to the routing table's changes.
type routeWatch struct {
	updates chan netlink.RouteUpdate
	done    chan struct{}
	log     *slog.Logger

	mu sync.Mutex
	// err is the subscription's last error; stopping silences the one
	// that closing it causes.
	err      error
	stopping bool
}

// subscribeRoutes subscribes to route changes before it returns; ns nil
// means this process's network namespace (tests pass their own).
func subscribeRoutes(ns *netns.NsHandle, log *slog.Logger) (*routeWatch, error) {
	w := &routeWatch{updates: make(chan netlink.RouteUpdate, 64), done: make(chan struct{}), log: log}
	err := netlink.RouteSubscribeWithOptions(w.updates, w.done, netlink.RouteSubscribeOptions{
		Namespace:     ns,
		ErrorCallback: w.failed,
	})
	if err != nil {
		return nil, fmt.Errorf("watching routes: %w", err)
	}
	return w, nil
}

// failed records an error of the subscription; netlink calls it from its
// own goroutine, and ends the subscription after most of them.
func (w *routeWatch) failed(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopping {
		return
	}
	w.err = err
	w.log.Warn("watching routes", "err", err)
}

// run calls onChange when the routing table changes — a new Wi-Fi, a
// cable plugged in, a VPN of the hotel — once per burst, after quiet for
// debounce, until ctx ends. If the subscription breaks (the kernel drops
// it when its buffer overflows during a flood of changes) run returns
// why, and the agent's supervisor subscribes anew.
func (w *routeWatch) run(ctx context.Context, debounce time.Duration, onChange func()) error {
	defer func() {
		w.mu.Lock()
		w.stopping = true
		w.mu.Unlock()
		close(w.done)
	}()
	var quiet <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-w.updates:
			if !ok {
				w.mu.Lock()
				err := w.err
				w.mu.Unlock()
				if err == nil {
					err = errors.New("the kernel ended it")
				}
				return fmt.Errorf("route subscription ended: %w", err)
			}
			quiet = time.After(debounce)
		case <-quiet:
			quiet = nil
			onChange()
		}
	}
}

// routeDebounce is how long the routes must be quiet before a change
// counts: joining a network is a burst of address and route changes.
// It is most of the time the in-office check takes to notice a move.
const routeDebounce = time.Second

// watchRoutes subscribes and runs until ctx ends or the subscription
// breaks: the "network" component.
func watchRoutes(ctx context.Context, ns *netns.NsHandle, debounce time.Duration, onChange func(), log *slog.Logger) error {
	w, err := subscribeRoutes(ns, log)
	if err != nil {
		return err
	}
	return w.run(ctx, debounce, onChange)
}

// watchNetwork makes the health checks look again, and tells the
// session's supervisor, whenever the network changes or the laptop
// wakes; the supervisor decides what the tunnel needs. The route watch
// runs under the agent's supervisor sup, which subscribes anew if it
// breaks.
func (a *Agent) watchNetwork(ctx context.Context, sup *supervisor) {
	sup.start(ctx, component{"network", func(ctx context.Context) error {
		return watchRoutes(ctx, nil, routeDebounce, a.networkChanged, a.log)
	}})
	if a.supervisor == nil {
		return
	}
	bus, err := dbus.ConnectSystemBus(dbus.WithContext(ctx))
	if err == nil {
		err = a.supervisor.WatchResume(ctx, bus)
	}
	if err != nil {
		a.log.Warn("resume from sleep is noticed by the clock only", "err", err)
		return
	}
	context.AfterFunc(ctx, func() { bus.Close() })
}

func (a *Agent) networkChanged() {
	a.log.Info("network changed")
	a.health.Trigger("network change")
	a.kickHours()
	if a.office != nil {
		a.office.Trigger()
	}
	if a.supervisor != nil {
		a.supervisor.Signal(session.NetworkChanged)
	}
}
