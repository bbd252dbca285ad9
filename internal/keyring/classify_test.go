package keyring_test

import (
	"errors"
	"fmt"
	"testing"

	dbus "github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"

	"github.com/dienstweg/dienstweg/internal/keyring"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   error
		want error
	}{
		{"go_keyring_not_found", gokeyring.ErrNotFound, keyring.ErrNotFound},
		{"no_secret_service", dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown",
			Body: []any{"The name org.freedesktop.secrets was not provided by any .service files"}}, keyring.ErrUnavailable},
		{"no_secret_service_pointer", &dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown"}, keyring.ErrUnavailable},
		{"name_has_no_owner", dbus.Error{Name: "org.freedesktop.DBus.Error.NameHasNoOwner"}, keyring.ErrUnavailable},
		{"no_session_bus", errors.New("dbus: couldn't determine address of session bus"), keyring.ErrUnavailable},
		{"unlock_refused", errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"), keyring.ErrLocked},
		{"unlock_refused_wrapped", fmt.Errorf("x: %w", errors.New("failed to unlock correct collection 'login'")), keyring.ErrLocked},
		{"is_locked", dbus.Error{Name: "org.freedesktop.Secret.Error.IsLocked"}, keyring.ErrLocked},
		{"already_classified", fmt.Errorf("a: %w", keyring.ErrLocked), keyring.ErrLocked},
		{"unknown", errors.New("something else"), keyring.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := keyring.Classify(tc.in)
			for _, s := range []error{keyring.ErrNotFound, keyring.ErrUnavailable, keyring.ErrLocked} {
				if errors.Is(got, s) != (s == tc.want) {
					t.Fatalf("Classify(%v) = %v; errors.Is(%v) = %v", tc.in, got, s, errors.Is(got, s))
				}
			}
		})
	}
	if keyring.Classify(nil) != nil {
		t.Fatal("Classify(nil) != nil")
	}
}
