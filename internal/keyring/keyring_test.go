package keyring_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	dbus "github.com/godbus/dbus/v5"

	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/keyring/keyringtest"
)

// contract is the behaviour every Store must have; it runs against the
// in-memory store and the real Secret Service alike.
func contract(t *testing.T, s keyring.Store) {
	ctx := context.Background()
	t.Run("missing_is_not_found", func(t *testing.T) {
		_, err := s.Get(ctx, "never-set")
		if !errors.Is(err, keyring.ErrNotFound) {
			t.Fatalf("Get(never-set) = %v, want ErrNotFound", err)
		}
	})
	t.Run("set_then_get", func(t *testing.T) {
		for _, v := range []string{"gOa1Xb+/=", "zwei Wörter\nund eine Zeile", strings.Repeat("k", 4096)} {
			if err := s.Set(ctx, "roundtrip", v); err != nil {
				t.Fatalf("Set: %v", err)
			}
			got, err := s.Get(ctx, "roundtrip")
			if err != nil || got != v {
				t.Fatalf("Get = %q, %v; want %q", got, err, v)
			}
		}
	})
	t.Run("overwrite_keeps_one_value", func(t *testing.T) {
		if err := s.Set(ctx, "over", "first"); err != nil {
			t.Fatalf("Set: %v", err)
		}
		if err := s.Set(ctx, "over", "second"); err != nil {
			t.Fatalf("Set: %v", err)
		}
		if err := s.Delete(ctx, "over"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		// One Delete removes it: the overwrite did not leave a second item.
		if _, err := s.Get(ctx, "over"); !errors.Is(err, keyring.ErrNotFound) {
			t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
		}
	})
	t.Run("accounts_are_separate", func(t *testing.T) {
		if err := s.Set(ctx, "a", "1"); err != nil {
			t.Fatalf("Set: %v", err)
		}
		if err := s.Set(ctx, "b", "2"); err != nil {
			t.Fatalf("Set: %v", err)
		}
		if err := s.Delete(ctx, "a"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if got, err := s.Get(ctx, "b"); err != nil || got != "2" {
			t.Fatalf("Get(b) = %q, %v", got, err)
		}
	})
	t.Run("delete_missing_succeeds", func(t *testing.T) {
		if err := s.Delete(ctx, "never-set"); err != nil {
			t.Fatalf("Delete(never-set) = %v", err)
		}
	})
	t.Run("empty_account_rejected", func(t *testing.T) {
		if err := s.Set(ctx, "", "x"); !errors.Is(err, keyring.ErrEmptyAccount) {
			t.Fatalf("Set(\"\") = %v", err)
		}
		if _, err := s.Get(ctx, " "); !errors.Is(err, keyring.ErrEmptyAccount) {
			t.Fatalf("Get(\" \") = %v", err)
		}
	})
	t.Run("ended_context_is_locked", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Get(cctx, "a"); !errors.Is(err, keyring.ErrLocked) {
			t.Fatalf("Get with ended ctx = %v, want ErrLocked", err)
		}
	})
	t.Run("concurrent_use", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 4 {
			wg.Go(func() {
				acct := fmt.Sprintf("conc-%d", i)
				if err := s.Set(ctx, acct, acct); err != nil {
					errs <- err
					return
				}
				if got, err := s.Get(ctx, acct); err != nil || got != acct {
					errs <- fmt.Errorf("Get(%s) = %q, %v", acct, got, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

func TestMemContract(t *testing.T) {
	t.Parallel()
	contract(t, keyring.NewMem())
}

func TestMemFail(t *testing.T) {
	t.Parallel()
	m := keyring.NewMem()
	m.Fail(keyring.ErrUnavailable)
	if err := m.Set(context.Background(), "a", "1"); !errors.Is(err, keyring.ErrUnavailable) {
		t.Fatalf("Set while failing = %v", err)
	}
	m.Fail(nil)
	if err := m.Set(context.Background(), "a", "1"); err != nil {
		t.Fatalf("Set after Fail(nil) = %v", err)
	}
}

func TestSystemContract(t *testing.T) {
	keyringtest.Private(t)
	s := &keyring.System{Timeout: 20 * time.Second}
	contract(t, s)

	// What the system store writes, an outside tool finds by service and
	// account: the names in docs/keyring.md are the real attributes.
	if err := s.Set(context.Background(), keyring.AccountWireGuardKey, "outside-visible"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got, ok := keyringtest.Lookup(t, keyring.Service, keyring.AccountWireGuardKey); !ok || got != "outside-visible" {
		t.Fatalf("secret-tool lookup = %q, %v", got, ok)
	}
	// Another service does not see it.
	other := &keyring.System{Service: keyring.Service + ".other"}
	if _, err := other.Get(context.Background(), keyring.AccountWireGuardKey); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("other service Get = %v, want ErrNotFound", err)
	}
}

func TestSystemNoSecretService(t *testing.T) {
	keyringtest.NoSecretService(t)
	s := &keyring.System{Timeout: 20 * time.Second}
	ctx := context.Background()
	if err := s.Set(ctx, "a", "1"); !errors.Is(err, keyring.ErrUnavailable) {
		t.Fatalf("Set without Secret Service = %v, want ErrUnavailable", err)
	}
	if _, err := s.Get(ctx, "a"); !errors.Is(err, keyring.ErrUnavailable) {
		t.Fatalf("Get without Secret Service = %v, want ErrUnavailable", err)
	}
	if err := s.Delete(ctx, "a"); !errors.Is(err, keyring.ErrUnavailable) {
		t.Fatalf("Delete without Secret Service = %v, want ErrUnavailable", err)
	}
	// The keyring comes up later (the user started it): the same store
	// works on retry, without restarting anything.
	keyringtest.Start(t)
	if err := s.Set(ctx, "a", "1"); err != nil {
		t.Fatalf("Set once available: %v", err)
	}
}

func TestSystemLocked(t *testing.T) {
	keyringtest.Private(t)
	s := &keyring.System{Timeout: 20 * time.Second}
	ctx := context.Background()
	if err := s.Set(ctx, "a", "1"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	conn, err := dbus.SessionBus()
	if err != nil {
		t.Fatalf("SessionBus: %v", err)
	}
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	call := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").Call(
		"org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{"/org/freedesktop/secrets/collection/login"})
	if err := call.Store(&locked, &prompt); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	t.Logf("locked %v prompt %v", locked, prompt)
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = s.Get(short, "a")
	t.Logf("Get on locked: %v", err)
	if !errors.Is(err, keyring.ErrLocked) {
		t.Fatalf("Get on a locked keyring = %v, want ErrLocked", err)
	}
}
