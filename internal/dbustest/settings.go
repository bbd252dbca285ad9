package dbustest

import (
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
)

const (
	settingsName  = "org.freedesktop.portal.Desktop"
	settingsPath  = dbus.ObjectPath("/org/freedesktop/portal/desktop")
	settingsIface = "org.freedesktop.portal.Settings"
	appearanceNS  = "org.freedesktop.appearance"
	colorSchemeID = "color-scheme"
)

// ColorScheme values of the settings portal.
const (
	NoPreference uint32 = 0
	PreferDark   uint32 = 1
	PreferLight  uint32 = 2
)

// SettingsPortal is the freedesktop settings portal, version 2 (ReadOne,
// as xdg-desktop-portal 1.17 and later serve it), holding only
// org.freedesktop.appearance color-scheme. Its methods are safe for
// concurrent use.
type SettingsPortal struct {
	conn *dbus.Conn
	mu   sync.Mutex
	cur  uint32
}

// StartSettingsPortal owns org.freedesktop.portal.Desktop on the session
// bus (see [Session] for a missing bus) until the test ends, with the
// colour scheme set to scheme.
func StartSettingsPortal(tb testing.TB, scheme uint32) *SettingsPortal {
	tb.Helper()
	conn := Session(tb)
	p := &SettingsPortal{conn: conn, cur: scheme}
	if err := conn.Export(settingsMethods{p}, settingsPath, settingsIface); err != nil {
		tb.Fatalf("StartSettingsPortal: %v", err)
	}
	reply, err := conn.RequestName(settingsName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		tb.Fatalf("StartSettingsPortal: owning %s: reply %v, %v", settingsName, reply, err)
	}
	return p
}

// SetColorScheme changes the scheme and emits SettingChanged, as the
// portal does.
func (p *SettingsPortal) SetColorScheme(scheme uint32) error {
	p.mu.Lock()
	p.cur = scheme
	p.mu.Unlock()
	return p.conn.Emit(settingsPath, settingsIface+".SettingChanged", appearanceNS, colorSchemeID, dbus.MakeVariant(scheme))
}

// Emit sends a SettingChanged signal for any setting, to check that
// listeners pick out theirs.
func (p *SettingsPortal) Emit(namespace, key string, value any) error {
	return p.conn.Emit(settingsPath, settingsIface+".SettingChanged", namespace, key, dbus.MakeVariant(value))
}

type settingsMethods struct{ p *SettingsPortal }

// ReadOne implements org.freedesktop.portal.Settings.ReadOne.
func (m settingsMethods) ReadOne(namespace, key string) (dbus.Variant, *dbus.Error) {
	if namespace != appearanceNS || key != colorSchemeID {
		return dbus.Variant{}, dbus.NewError("org.freedesktop.portal.Error.NotFound", []any{"requested setting not found"})
	}
	m.p.mu.Lock()
	defer m.p.mu.Unlock()
	return dbus.MakeVariant(m.p.cur), nil
}
