package keyring_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/danieljoos/wincred"
	gokeyring "github.com/zalando/go-keyring"

	"github.com/dienstweg/dienstweg/internal/keyring"
)

// The System store against the real Windows Credential Manager (under
// Wine: Wine's advapi32, which keeps credentials in the prefix's
// registry). A service name of its own keeps the test away from a real
// Dienstweg entry on a developer's machine.
func TestCredentialManagerContract(t *testing.T) {
	service := fmt.Sprintf("%s.test-%d-%d", keyring.Service, os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { gokeyring.DeleteAll(service) })
	s := &keyring.System{Service: service, Timeout: 20 * time.Second}
	contract(t, s)

	// What the store writes, other Windows tools find as a generic
	// credential named service:account (docs/keyring.md).
	if err := s.Set(context.Background(), keyring.AccountWireGuardKey, "outside-visible"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	cred, err := wincred.GetGenericCredential(service + ":" + keyring.AccountWireGuardKey)
	if err != nil {
		t.Fatalf("CredRead %s:%s: %v", service, keyring.AccountWireGuardKey, err)
	}
	if string(cred.CredentialBlob) != "outside-visible" || cred.UserName != keyring.AccountWireGuardKey {
		t.Fatalf("credential = %q for user %q, want outside-visible for %q", cred.CredentialBlob, cred.UserName, keyring.AccountWireGuardKey)
	}
	other := &keyring.System{Service: service + ".other"}
	if _, err := other.Get(context.Background(), keyring.AccountWireGuardKey); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("other service Get = %v, want ErrNotFound", err)
	}
	if err := s.Delete(context.Background(), keyring.AccountWireGuardKey); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := wincred.GetGenericCredential(service + ":" + keyring.AccountWireGuardKey); err == nil {
		t.Fatalf("credential still in the Credential Manager after Delete")
	}
}
