//go:build linux || freebsd || openbsd || netbsd

package colorscheme

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/dienstweg/dienstweg/internal/dbustest"
)

// next waits for the scheme ch sends next.
func next(ctx context.Context, t *testing.T, ch <-chan Scheme) Scheme {
	t.Helper()
	select {
	case s, ok := <-ch:
		if !ok {
			t.Fatal("Watch closed its channel early")
		}
		return s
	case <-ctx.Done():
		t.Fatal("Watch sent nothing")
	}
	return NoPreference
}

// waitFor reads from ch until it sends want.
func waitFor(ctx context.Context, t *testing.T, ch <-chan Scheme, want Scheme) {
	t.Helper()
	for {
		if s := next(ctx, t, ch); s == want {
			return
		}
	}
}

// The real xdg-desktop-portal with its GTK backend, started by the bus on
// the first call as on a desktop, reading GNOME's setting from a keyfile
// that gsettings writes. Debian 12's portal (1.16) has only Read, so this
// covers the fallback from ReadOne, the doubly wrapped value and the
// SettingChanged signal as a real portal sends them.
func TestWatch_real_portal(t *testing.T) {
	portal := "/usr/libexec/xdg-desktop-portal"
	gtk := "/usr/libexec/xdg-desktop-portal-gtk"
	store := "/usr/libexec/xdg-permission-store"
	for _, p := range []string{portal, gtk, store} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s missing (Debian packages xdg-desktop-portal, xdg-desktop-portal-gtk): %v", p, err)
		}
	}
	if os.Getenv("DISPLAY") == "" {
		t.Skip("the GTK backend needs a display; run under scripts/testenv.sh")
	}
	gsettings, err := exec.LookPath("gsettings")
	if err != nil {
		t.Skipf("gsettings missing (Debian package libglib2.0-bin): %v", err)
	}
	// The bus passes its own environment to the services it starts.
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	t.Setenv("XDG_CURRENT_DESKTOP", "GNOME")
	t.Setenv("GSETTINGS_BACKEND", "keyfile")
	set := func(value string) {
		t.Helper()
		out, err := exec.Command(gsettings, "set", "org.gnome.desktop.interface", "color-scheme", value).CombinedOutput()
		if err != nil {
			t.Fatalf("gsettings set color-scheme %s: %v: %s", value, err, out)
		}
	}
	set("prefer-dark")
	if _, err := os.Stat(filepath.Join(config, "glib-2.0", "settings", "keyfile")); err != nil {
		t.Fatalf("gsettings wrote no keyfile: %v", err)
	}
	dbustest.PrivateBusActivating(t, map[string]string{
		portalService: portal,
		"org.freedesktop.impl.portal.desktop.gtk":     gtk,
		"org.freedesktop.impl.portal.PermissionStore": store,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	ch := Watch(ctx, nil)
	if got := next(ctx, t, ch); got != Dark {
		t.Fatalf("first scheme = %v, want dark", got)
	}
	set("prefer-light")
	waitFor(ctx, t, ch, Light)
	set("default")
	waitFor(ctx, t, ch, NoPreference)
	cancel()
	for range ch {
	}
}

func TestWatch_portal_version_2(t *testing.T) {
	dbustest.PrivateBus(t)
	p := dbustest.StartSettingsPortal(t, dbustest.PreferLight)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch := Watch(ctx, nil)
	if got := next(ctx, t, ch); got != Light {
		t.Fatalf("first scheme = %v, want light", got)
	}
	// Other settings are not ours.
	for _, err := range []error{
		p.Emit("org.gnome.desktop.interface", colorSchemeKey, dbustest.PreferDark),
		p.Emit(appearanceNS, "contrast", dbustest.PreferDark),
		p.SetColorScheme(dbustest.PreferDark),
	} {
		if err != nil {
			t.Fatalf("Emit: %v", err)
		}
	}
	if got := next(ctx, t, ch); got != Dark {
		t.Fatalf("after SettingChanged(1): %v, want dark (other settings must not count)", got)
	}
}

// Without a portal (a desktop without xdg-desktop-portal) the answer is
// NoPreference, at once: the bus says nobody provides the portal, and the
// read does not wait out portalCallLimit. The error tells which; a 5 s
// stopwatch bound could fail on a loaded machine.
func TestWatch_no_portal(t *testing.T) {
	dbustest.PrivateBus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if got := next(ctx, t, Watch(ctx, nil)); got != NoPreference {
		t.Fatalf("scheme = %v, want no preference", got)
	}
	_, err := readPortal(ctx, dbustest.Session(t))
	var dbusErr dbus.Error
	if !errors.As(err, &dbusErr) || dbusErr.Name != "org.freedesktop.DBus.Error.ServiceUnknown" {
		t.Errorf("reading without a portal = %v; want the bus's answer that none is there (ServiceUnknown)", err)
	}
}

func TestFromPortalValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		in      dbus.Variant
		want    Scheme
		wantErr bool
	}{
		{"no_preference", dbus.MakeVariant(uint32(0)), NoPreference, false},
		{"prefer_dark", dbus.MakeVariant(uint32(1)), Dark, false},
		{"prefer_light", dbus.MakeVariant(uint32(2)), Light, false},
		{"unknown_value_is_no_preference", dbus.MakeVariant(uint32(7)), NoPreference, false},
		{"read_of_version_1_wraps_twice", dbus.MakeVariant(dbus.MakeVariant(uint32(2))), Light, false},
		{"wrong_type", dbus.MakeVariant("prefer-dark"), NoPreference, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := fromPortalValue(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("fromPortalValue(%v) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
