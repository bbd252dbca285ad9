package agent

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/dienstweg/dienstweg/internal/dbustest"
	"github.com/dienstweg/dienstweg/internal/keyring"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

// A start the portal refuses leaves nothing running: the tray shows the
// problem and offers „Homeoffice starten“ again, not „Homeoffice
// beenden“ (before, Problem counted as a running session). Against the
// real demo organisation, whose IT has disabled the user; the tray menu
// is read over a real D-Bus.
func TestFailedStartOffersStartInTray(t *testing.T) {
	dbustest.PrivateBus(t)
	watcher := dbustest.StartWatcher(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	org, prof := startDemoOrg(t, ctx)
	// The internet: the demo portal's host, so the verdict does not
	// depend on whether this machine is online.
	portalURL, err := url.Parse(org.PortalURL)
	if err != nil {
		t.Fatal(err)
	}
	prof.InternetTargets = []string{portalURL.Host}

	ks := keyring.NewMem()
	stateDir := t.TempDir()
	user := org.Users[0].Name
	secret := enrollDirectly(t, ctx, prof.PortalURL, prof.PortalCA, ks, stateDir, user, org.Users[0].ActivationCode)

	socket := socketPath(t)
	a, err := New(Options{
		Config:       Config{Profile: prof, Lang: "de", SocketPath: socket, Tray: true, StateDir: stateDir, CacheDir: t.TempDir(), UIExe: uiBinary},
		Deps:         Deps{Keyring: ks},
		TestSwitches: TestSwitches{NoWizardAtStart: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runAgent(t, ctx, a)
	c := localapi.NewClient(socket)
	waitAPI(t, ctx, c)
	_, menu := trayMenu(t, ctx, watcher)
	if _, err := menu.WaitLayout(ctx, hasVisible("Homeoffice nicht verbunden", "Homeoffice starten")); err != nil {
		t.Fatalf("menu before the start: %v", err)
	}

	if _, err := org.Store.DisableUser(ctx, user, time.Now()); err != nil {
		t.Fatalf("DisableUser: %v", err)
	}
	// The wizard's code was spent; the portal accepts one step ahead.
	code, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartSession(ctx, code); err == nil {
		t.Fatal("StartSession of a disabled user succeeded")
	}
	s := waitStatus(t, ctx, c, "the failed start shown", func(s state.Snapshot) bool { return s.Session == state.Problem })
	if s.Running || s.Verdict.End || s.Verdict.Start != state.StartCode {
		t.Fatalf("after the refused start: running %v, verdict start %q end %v; want nothing running, start offered", s.Running, s.Verdict.Start, s.Verdict.End)
	}
	// The tray changes its entries one by one: wait for the whole menu.
	if _, err := menu.WaitLayout(ctx, func(n dbustest.MenuNode) bool {
		start, ok := n.FindByLabel("Homeoffice starten")
		return hasVisible("Störung – siehe Details")(n) && ok && start.Visible && start.Enabled && hasHidden("Homeoffice beenden")(n)
	}); err != nil {
		t.Fatalf("menu after the refused start (still offering „Homeoffice beenden“?): %v", err)
	}
}
