package portal_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/authcode/authcodetest"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv/portaltest"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal"
	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// slotHolder keeps the portal's only in-flight slot taken. Observe runs
// inside the slot, so the first session status request waits there until
// released. (A slow request body no longer holds a slot: the portal reads
// bodies before it admits a request.)
type slotHolder struct {
	held, release chan struct{}
	once          sync.Once
	done          chan struct{}
}

func newSlotHolder() *slotHolder {
	return &slotHolder{held: make(chan struct{}), release: make(chan struct{}), done: make(chan struct{})}
}

func (h *slotHolder) observe(route string, status int, d time.Duration) {
	if route != api.RouteSessionStatus {
		return
	}
	h.once.Do(func() {
		close(h.held)
		<-h.release
	})
}

// take sends the blocking request and returns once it holds the slot.
func (h *slotHolder) take(t *testing.T, env *portaltest.Env) {
	t.Helper()
	blocker := env.Client(t, func(cfg *portal.Config) { cfg.Retry.MaxAttempts = 1 })
	go func() {
		defer close(h.done)
		blocker.SessionStatus(context.Background())
	}()
	t.Cleanup(h.free)
	select {
	case <-h.held:
	case <-time.After(10 * time.Second):
		t.Fatalf("blocking request not admitted")
	}
}

// free lets the blocking request finish and waits until it has.
func (h *slotHolder) free() {
	select {
	case <-h.release:
	default:
		close(h.release)
	}
	<-h.done
}

func TestSaturationBackoffWaitsForRetryAfter(t *testing.T) {
	t.Parallel()
	h := newSlotHolder()
	env := portaltest.Start(t, portaltest.Options{Config: portalsrv.Config{
		MaxInFlight:      1,
		QueueWait:        time.Millisecond,
		RetryAfter:       3 * time.Second,
		RetryAfterSpread: -1,
		Observe:          h.observe,
	}})
	h.take(t, env)

	var (
		mu    sync.Mutex
		waits []time.Duration
	)
	c := env.Client(t, func(cfg *portal.Config) {
		cfg.Sleep = func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			waits = append(waits, d)
			h.free()
			return nil
		}
		cfg.Rand = func() float64 { return 0.5 }
	})
	if _, err := c.Announcements(context.Background(), ""); err != nil {
		t.Fatalf("Announcements after backoff: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) == 0 {
		t.Fatalf("client did not back off; server shed %d", env.Server.Stats().Shed)
	}
	for i, w := range waits {
		if w < 3*time.Second {
			t.Errorf("wait %d = %v, shorter than Retry-After 3s", i, w)
		}
	}
	if env.Server.Stats().Shed < 1 {
		t.Errorf("server shed nothing")
	}
}

func TestOverloadGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	h := newSlotHolder()
	env := portaltest.Start(t, portaltest.Options{Config: portalsrv.Config{MaxInFlight: 1, QueueWait: time.Millisecond, Observe: h.observe}})
	h.take(t, env)

	var sleeps int
	c := env.Client(t, func(cfg *portal.Config) {
		cfg.Retry.MaxAttempts = 3
		cfg.Sleep = func(context.Context, time.Duration) error { sleeps++; return nil }
	})
	_, err := c.Announcements(context.Background(), "")
	var pe *portal.Error
	if !errors.As(err, &pe) || pe.Kind != portal.KindOverloaded || pe.RetryAfter < 2*time.Second {
		t.Fatalf("err = %v, want overloaded with Retry-After", err)
	}
	if sleeps != 2 {
		t.Errorf("slept %d times, want 2 (3 attempts)", sleeps)
	}
	if m := portal.Explain(err, time.Now(), time.UTC); m.Key != portal.KeyBusy {
		t.Errorf("Explain = %+v, want %s", m, portal.KeyBusy)
	}
}

func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for i := 0; i < 2000; i++ {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatalf("gave up waiting for %s", what)
}

func TestClientRefusesCertificateNotFromPinnedCA(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	other := portaltest.Start(t, portaltest.Options{})
	sleeps := 0
	c, err := portal.New(portal.Config{
		BaseURL: env.URL,
		CAPEM:   other.CAPEM,
		Sleep:   func(context.Context, time.Duration) error { sleeps++; return nil },
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer c.Close()
	_, err = c.Health(context.Background())
	if !errors.Is(err, portal.ErrCertificate) {
		t.Fatalf("err = %v, want ErrCertificate", err)
	}
	if sleeps != 0 {
		t.Errorf("a certificate error was retried %d times", sleeps)
	}
	// The system roots are not consulted either: an empty pin is refused.
	if _, err := portal.New(portal.Config{BaseURL: env.URL, CAPEM: ""}); err == nil {
		t.Errorf("New accepted an empty CA")
	}
	if _, err := portal.New(portal.Config{BaseURL: strings.Replace(env.URL, "https", "http", 1), CAPEM: env.CAPEM}); err == nil {
		t.Errorf("New accepted a plain http URL")
	}
}

func TestClockOffsetFromDateHeader(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	act := env.AddUser(t, "u", "U")
	c := env.Client(t, func(cfg *portal.Config) {
		cfg.Now = func() time.Time { return env.Clock.Now().Add(5 * time.Minute) }
	})
	ctx := context.Background()
	en, err := c.StartEnrollment(ctx, "u", act)
	if err != nil {
		t.Fatalf("StartEnrollment: %v", err)
	}
	if off, ok := c.ClockOffset(); !ok || off != -5*time.Minute {
		t.Errorf("ClockOffset = %v, %v; want -5m", off, ok)
	}
	_, err = c.ConfirmEnrollment(ctx, en.EnrollmentID, "000000")
	var pe *portal.Error
	if !errors.As(err, &pe) || pe.Kind != portal.KindWrongCode || pe.AttemptsLeft != 4 || pe.ClockOffset != -5*time.Minute {
		t.Fatalf("err = %#v", err)
	}
	// Five minutes off: the employee hears about the clock, not only
	// about a wrong code.
	if m := portal.Explain(err, time.Now(), time.UTC); m.Key != portal.KeyWrongCodeClockAttempts || m.Args["Attempts"] != "4" {
		t.Errorf("Explain = %+v, want %s with 4 attempts", m, portal.KeyWrongCodeClockAttempts)
	}
}

func TestErrorsForTheUI(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	act := env.AddUser(t, "u", "U")
	c := env.Client(t, nil)

	_, err := c.StartEnrollment(ctx, "u", "WRONG-CODE-0000")
	if !errors.Is(err, portal.ErrInvalidLogin) {
		t.Fatalf("wrong activation code: %v", err)
	}
	en, err := c.StartEnrollment(ctx, "u", act)
	if err != nil {
		t.Fatalf("StartEnrollment: %v", err)
	}
	for i := 0; i < 4; i++ {
		if _, err := c.ConfirmEnrollment(ctx, en.EnrollmentID, "000000"); !errors.Is(err, portal.ErrWrongCode) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	_, err = c.ConfirmEnrollment(ctx, en.EnrollmentID, "000000")
	var pe *portal.Error
	if !errors.As(err, &pe) || pe.Kind != portal.KindLocked {
		t.Fatalf("fifth wrong code: %v", err)
	}
	if got := pe.LockedUntil.Sub(env.Clock.Now()); got != 5*time.Minute {
		t.Errorf("locked for %v, want 5m", got)
	}
	// The end, rounded up to the minute, so the employee never tries early.
	want := pe.LockedUntil.Add(time.Minute - 1).Truncate(time.Minute).In(time.UTC).Format("15:04")
	if m := portal.Explain(err, env.Clock.Now(), time.UTC); m.Key != portal.KeyLockedUntil || m.Args["Time"] != want {
		t.Errorf("Explain = %+v, want %s at %s", m, portal.KeyLockedUntil, want)
	}
	if _, err := c.ConfirmEnrollment(ctx, "dwe1_unknown", "123456"); !errors.Is(err, portal.ErrEnrollmentExpired) {
		t.Errorf("unknown enrollment: %v", err)
	}
}

func TestRevokedDeviceIsRefused(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	c, _ := enrolled(t, env, "u")
	dev, err := c.Device(ctx)
	if err != nil {
		t.Fatalf("Device: %v", err)
	}
	changed, stop := env.Server.Subscribe()
	defer stop()
	if err := env.Server.RevokeDevice(ctx, dev.DeviceID); err != nil {
		t.Fatalf("RevokeDevice: %v", err)
	}
	select {
	case <-changed:
	default:
		t.Errorf("no change notification after revocation")
	}
	if _, err := c.SessionStatus(ctx); !errors.Is(err, portal.ErrDeviceUnauthorised) {
		t.Errorf("SessionStatus: %v, want ErrDeviceUnauthorised", err)
	}
	if _, err := c.Announcements(ctx, ""); !errors.Is(err, portal.ErrDeviceUnauthorised) {
		t.Errorf("Announcements: %v, want ErrDeviceUnauthorised", err)
	}
	if peers, _ := env.Server.AuthorisedPeers(ctx, env.Clock.Now()); len(peers) != 0 {
		t.Errorf("revoked device still a peer: %+v", peers)
	}
}

func TestCodeReplayOnSession(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	c, secret := enrolled(t, env, "u")
	if _, err := c.EndSession(ctx); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	cd := authcodetest.Code(t, secret, env.Clock.Now())
	if _, err := c.AuthoriseSession(ctx, cd); err != nil {
		t.Fatalf("AuthoriseSession: %v", err)
	}
	if _, err := c.EndSession(ctx); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	if _, err := c.AuthoriseSession(ctx, cd); !errors.Is(err, portal.ErrCodeReused) {
		t.Errorf("replayed code: %v, want ErrCodeReused", err)
	}
}

func putAnnouncement(tb testing.TB, st store.Store, a store.Announcement) {
	tb.Helper()
	if a.TitleDE == "" {
		a.TitleDE, a.TitleEN, a.BodyDE, a.BodyEN = "Titel "+a.ID, "Title "+a.ID, "Text", "Text"
	}
	if err := portalsrv.ValidateAnnouncement(a); err != nil {
		tb.Fatalf("ValidateAnnouncement: %v", err)
	}
	if err := st.PutAnnouncement(context.Background(), a); err != nil {
		tb.Fatalf("PutAnnouncement: %v", err)
	}
}

func ids(list []portal.Announcement) string {
	var out []string
	for _, a := range list {
		out = append(out, a.ID)
	}
	return strings.Join(out, ",")
}

func TestAnnouncementsETagAudienceValidity(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	now := env.Clock.Now()
	putAnnouncement(t, env.Store, store.Announcement{ID: "info", Severity: "info", ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour), Audience: []string{"all"}})
	putAnnouncement(t, env.Store, store.Announcement{ID: "bau", Severity: "maintenance", ValidFrom: now.Add(-2 * time.Hour), ValidUntil: now.Add(time.Hour), Audience: []string{"bauamt"}})
	putAnnouncement(t, env.Store, store.Announcement{ID: "old", Severity: "outage", ValidFrom: now.Add(-3 * time.Hour), ValidUntil: now.Add(-time.Hour)})
	putAnnouncement(t, env.Store, store.Announcement{ID: "soon", Severity: "outage", ValidFrom: now.Add(10 * time.Minute), ValidUntil: now.Add(time.Hour)})

	anon := env.Client(t, nil)
	a, err := anon.Announcements(ctx, "")
	if err != nil || ids(a.Items) != "info" || a.ETag == "" {
		t.Fatalf("anonymous = %+v, %v; want only info", a, err)
	}
	a2, err := anon.Announcements(ctx, a.ETag)
	if err != nil || !a2.NotModified || a2.ETag != a.ETag {
		t.Fatalf("with If-None-Match = %+v, %v; want 304", a2, err)
	}

	// A device of a user in group "bauamt" also sees the group's notice.
	act := env.AddUser(t, "bob", "Bob", "bauamt")
	dc := env.Client(t, nil)
	en, err := dc.StartEnrollment(ctx, "bob", act)
	if err != nil {
		t.Fatalf("StartEnrollment: %v", err)
	}
	if _, err := dc.ConfirmEnrollment(ctx, en.EnrollmentID, authcodetest.Code(t, en.Secret, env.Clock.Now())); err != nil {
		t.Fatalf("ConfirmEnrollment: %v", err)
	}
	if _, err := dc.RegisterDevice(ctx, en.EnrollmentID, portaltest.NewWGKey(), ""); err != nil {
		t.Fatalf("RegisterDevice: %v", err)
	}
	g, err := dc.Announcements(ctx, a.ETag)
	if err != nil || g.NotModified || ids(g.Items) != "info,bau" {
		t.Fatalf("bauamt device = %+v, %v; want info,bau", g, err)
	}

	// An edit changes the ETag once the server re-reads the revision.
	putAnnouncement(t, env.Store, store.Announcement{ID: "info", Severity: "info", TitleDE: "Neu", TitleEN: "New", ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)})
	env.Clock.Advance(2 * time.Second)
	a3, err := anon.Announcements(ctx, a.ETag)
	if err != nil || a3.NotModified || a3.ETag == a.ETag || a3.Items[0].Title.DE != "Neu" {
		t.Fatalf("after edit = %+v, %v", a3, err)
	}
	// A scheduled one appears when its window opens.
	env.Clock.Advance(10 * time.Minute)
	a4, err := anon.Announcements(ctx, a3.ETag)
	if err != nil || ids(a4.Items) != "soon,info" {
		t.Fatalf("after valid_from = %+v, %v; want soon,info", a4, err)
	}
	if a4.Items[0].Severity != "outage" || a4.Items[0].Audience[0] != "all" {
		t.Errorf("fields = %+v", a4.Items[0])
	}
}

func TestReleasePassthrough(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	manifest := []byte("{\"version\":\"1.2.3\"}\n\xff raw bytes")
	sig := []byte("untrusted comment: signature\nRWQ...\ntrusted comment: x\nabc\n")
	bin := filepath.Join(t.TempDir(), "dienstweg-linux-amd64")
	if err := os.WriteFile(bin, []byte("ELF binary"), 0o644); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	if err := portalsrv.PublishRelease(ctx, env.Store, env.Config.ReleaseDir, "stable", manifest, sig, []string{bin}, env.Clock.Now()); err != nil {
		t.Fatalf("PublishRelease: %v", err)
	}
	c := env.Client(t, nil)
	rel, err := c.ReleaseManifest(ctx, "stable")
	if err != nil || string(rel.Manifest) != string(manifest) || string(rel.Signature) != string(sig) {
		t.Fatalf("ReleaseManifest = %q, %q, %v", rel.Manifest, rel.Signature, err)
	}
	body, size, err := c.OpenReleaseFile(ctx, "stable", "dienstweg-linux-amd64")
	if err != nil {
		t.Fatalf("OpenReleaseFile: %v", err)
	}
	b, _ := io.ReadAll(body)
	body.Close()
	if string(b) != "ELF binary" || size != 10 {
		t.Errorf("file = %q (%d)", b, size)
	}
	if _, err := c.ReleaseManifest(ctx, "beta"); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("unpublished channel: %v", err)
	}
	if _, _, err := c.OpenReleaseFile(ctx, "stable", "..%2Fportal.db"); !errors.Is(err, portal.ErrNotFound) {
		t.Errorf("path traversal: %v", err)
	}
}

func TestRestartKeepsUsersDevicesAnnouncements(t *testing.T) {
	t.Parallel()
	env := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	c, secret, reg := enrolledReg(t, env, "anna")
	dev, err := c.Device(ctx)
	if err != nil {
		t.Fatalf("Device: %v", err)
	}
	now := env.Clock.Now()
	putAnnouncement(t, env.Store, store.Announcement{ID: "keep", Severity: "info", ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)})
	before, err := c.Announcements(ctx, "")
	if err != nil {
		t.Fatalf("Announcements: %v", err)
	}

	env2 := env.Restart(t)
	if env2.CAPEM != env.CAPEM {
		t.Errorf("CA changed across restart; pinned clients would break")
	}
	c2 := env2.Client(t, func(cfg *portal.Config) { cfg.Credential = reg.Credential })
	if u, err := env2.Store.User(ctx, "anna"); err != nil || u.TOTPSecret != secret {
		t.Fatalf("user after restart = %+v, %v", u, err)
	}
	dev2, err := c2.Device(ctx)
	if err != nil || dev2.DeviceID != dev.DeviceID || dev2.Tunnel.Address != dev.Tunnel.Address {
		t.Fatalf("device after restart = %+v, %v", dev2, err)
	}
	after, err := c2.Announcements(ctx, before.ETag)
	if err != nil || !after.NotModified {
		t.Errorf("announcements after restart = %+v, %v; want 304 for the same ETag", after, err)
	}
	if _, err := c2.AuthoriseSession(ctx, authcodetest.Code(t, secret, env2.Clock.Now())); err != nil {
		t.Errorf("AuthoriseSession after restart: %v", err)
	}
}
