package session

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// logind's sleep signal: true before suspend, false after resume.
const (
	logindPath      = dbus.ObjectPath("/org/freedesktop/login1")
	logindInterface = "org.freedesktop.login1.Manager"
	prepareForSleep = "PrepareForSleep"
)

// WatchResume hands the supervisor Resumed each time systemd-logind on
// conn (the system bus) reports the end of a sleep, so the tunnel gets a
// fresh handshake at once instead of after the clock-gap check. The match
// is registered before it returns; it stops when ctx ends. Where there is
// no logind the clock gap remains the only sign.
func (c *Controller) WatchResume(ctx context.Context, conn *dbus.Conn) error {
	opts := []dbus.MatchOption{
		dbus.WithMatchObjectPath(logindPath),
		dbus.WithMatchInterface(logindInterface),
		dbus.WithMatchMember(prepareForSleep),
	}
	if err := conn.AddMatchSignalContext(ctx, opts...); err != nil {
		return fmt.Errorf("watching logind for resume: %w", err)
	}
	signals := make(chan *dbus.Signal, 8)
	conn.Signal(signals)
	go func() {
		defer func() {
			conn.RemoveSignal(signals)
			_ = conn.RemoveMatchSignal(opts...)
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case s, ok := <-signals:
				if !ok {
					return
				}
				if s.Path != logindPath || s.Name != logindInterface+"."+prepareForSleep || len(s.Body) != 1 {
					continue
				}
				if sleeping, ok := s.Body[0].(bool); ok && !sleeping {
					c.log.Info("resume from sleep (logind)")
					c.Signal(Resumed)
				}
			}
		}
	}()
	return nil
}
