//go:build linux

package agent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/dienstweg/dienstweg/internal/session"
)

// watchRoutes calls onChange when the routing table changes — a new
// Wi-Fi, a cable plugged in, a VPN of the hotel — once per burst, after
// quiet for debounce. The subscription is made before it returns; ns nil
// means this process's network namespace (tests pass their own).
func watchRoutes(ctx context.Context, ns *netns.NsHandle, debounce time.Duration, onChange func(), log *slog.Logger) error {
	updates := make(chan netlink.RouteUpdate, 64)
	done := make(chan struct{})
	err := netlink.RouteSubscribeWithOptions(updates, done, netlink.RouteSubscribeOptions{
		Namespace:     ns,
		ErrorCallback: func(err error) { log.Warn("watching routes", "err", err) },
	})
	if err != nil {
		return fmt.Errorf("watching routes: %w", err)
	}
	go func() {
		defer close(done)
		var quiet <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-updates:
				if !ok {
					return
				}
				quiet = time.After(debounce)
			case <-quiet:
				quiet = nil
				onChange()
			}
		}
	}()
	return nil
}

// watchNetwork makes the health checks look again, and tells the
// session's supervisor, whenever the network changes or the laptop
// wakes; the supervisor decides what the tunnel needs.
func (a *Agent) watchNetwork(ctx context.Context) {
	err := watchRoutes(ctx, nil, time.Second, func() {
		a.log.Info("network changed")
		a.health.Trigger("network change")
		if a.supervisor != nil {
			a.supervisor.Signal(session.NetworkChanged)
		}
	}, a.log)
	if err != nil {
		a.log.Warn("network changes go unnoticed until the next check", "err", err)
	}
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
