//go:build linux || freebsd || openbsd || netbsd

package colorscheme

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/godbus/dbus/v5"
)

// The freedesktop settings portal (xdg-desktop-portal, Settings interface).
const (
	portalService   = "org.freedesktop.portal.Desktop"
	portalPath      = dbus.ObjectPath("/org/freedesktop/portal/desktop")
	settingsIface   = "org.freedesktop.portal.Settings"
	appearanceNS    = "org.freedesktop.appearance"
	colorSchemeKey  = "color-scheme"
	portalCallLimit = 10 * time.Second // the first call may start the portal
)

func watch(ctx context.Context, log *slog.Logger, send func(Scheme)) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		// godbus would otherwise autolaunch a bus that outlives us.
		log.Info("no session bus; the desktop's colour scheme is unknown")
		send(NoPreference)
		return
	}
	// A connection of our own, so closing it touches nobody else's.
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		log.Info("no session bus; the desktop's colour scheme is unknown", "err", err)
		send(NoPreference)
		return
	}
	defer conn.Close()
	// Subscribe before reading, so no change between the two is lost.
	if err := conn.AddMatchSignalContext(ctx,
		dbus.WithMatchObjectPath(portalPath),
		dbus.WithMatchInterface(settingsIface),
		dbus.WithMatchMember("SettingChanged"),
		dbus.WithMatchArg(0, appearanceNS),
		dbus.WithMatchArg(1, colorSchemeKey),
	); err != nil {
		log.Warn("cannot follow the desktop's colour scheme", "err", err)
	}
	sigs := make(chan *dbus.Signal, 8)
	conn.Signal(sigs)

	s, err := readPortal(ctx, conn)
	if err != nil {
		log.Info("the desktop's colour scheme cannot be read", "err", err)
	}
	log.Debug("desktop colour scheme", "scheme", s)
	send(s)
	for {
		select {
		case <-ctx.Done():
			return
		case sig, ok := <-sigs:
			if !ok {
				return
			}
			if s, ok := schemeFromSignal(sig); ok {
				log.Debug("desktop colour scheme changed", "scheme", s)
				send(s)
			}
		}
	}
}

// readPortal asks the portal. ReadOne is version 2 of the interface
// (xdg-desktop-portal 1.17); older portals, such as Debian 12's 1.16, only
// have Read, which wraps the value in one more variant.
func readPortal(ctx context.Context, conn *dbus.Conn) (Scheme, error) {
	ctx, cancel := context.WithTimeout(ctx, portalCallLimit)
	defer cancel()
	obj := conn.Object(portalService, portalPath)
	var v dbus.Variant
	err := obj.CallWithContext(ctx, settingsIface+".ReadOne", 0, appearanceNS, colorSchemeKey).Store(&v)
	var dbusErr dbus.Error
	if errors.As(err, &dbusErr) && dbusErr.Name == dbus.ErrMsgUnknownMethod.Name {
		err = obj.CallWithContext(ctx, settingsIface+".Read", 0, appearanceNS, colorSchemeKey).Store(&v)
	}
	if err != nil {
		return NoPreference, fmt.Errorf("reading %s %s from the settings portal: %w", appearanceNS, colorSchemeKey, err)
	}
	return fromPortalValue(v)
}

func schemeFromSignal(sig *dbus.Signal) (Scheme, bool) {
	if sig.Path != portalPath || sig.Name != settingsIface+".SettingChanged" || len(sig.Body) != 3 {
		return NoPreference, false
	}
	ns, _ := sig.Body[0].(string)
	key, _ := sig.Body[1].(string)
	v, isVariant := sig.Body[2].(dbus.Variant)
	if ns != appearanceNS || key != colorSchemeKey || !isVariant {
		return NoPreference, false
	}
	s, err := fromPortalValue(v)
	return s, err == nil
}

// fromPortalValue reads the setting's value: 0 no preference, 1 prefer
// dark, 2 prefer light, as a uint32 in one or more variants. Unknown
// values are no preference, as the specification asks.
func fromPortalValue(v dbus.Variant) (Scheme, error) {
	val := v.Value()
	for i := 0; i < 4; i++ {
		inner, ok := val.(dbus.Variant)
		if !ok {
			break
		}
		val = inner.Value()
	}
	n, ok := val.(uint32)
	if !ok {
		return NoPreference, fmt.Errorf("%s %s is %s, want a uint32", appearanceNS, colorSchemeKey, v.Signature())
	}
	switch n {
	case 1:
		return Dark, nil
	case 2:
		return Light, nil
	}
	return NoPreference, nil
}
