package localapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/problem"
	"github.com/dienstweg/dienstweg/internal/state"
)

// testBackend is a small real backend around a real state.Store.
type testBackend struct {
	*state.Store
	testWindows
	mu      sync.Mutex
	codes   []string
	opened  []string
	quitted bool

	enrollView enroll.View
	enrollSubs []chan enroll.View
}

func (b *testBackend) StartSession(_ context.Context, code string) error {
	b.mu.Lock()
	b.codes = append(b.codes, code)
	b.mu.Unlock()
	if code == "000000" {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "wrong_code", Key: "code.wrong", Message: "wrong code"}
	}
	if k, ok := strings.CutPrefix(code, "9900"); ok {
		// A domain package's typed error, kind by the last digits.
		n, _ := strconv.Atoi(k)
		return fmt.Errorf("starting the session: %w", problem.New(problem.Kind(n), "portal.error.wrong_code_attempts", errors.New("portal said no"), "Attempts", "2"))
	}
	b.Update(func(s *state.Snapshot) { s.Session = state.Connecting })
	return nil
}
func (b *testBackend) EndSession(context.Context) error {
	b.Update(func(s *state.Snapshot) { s.Session = state.NotConnected })
	return nil
}
func (b *testBackend) OpenWindow(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opened = append(b.opened, name)
	return nil
}
func (b *testBackend) MarkRead(context.Context, MarkReadRequest) error { return nil }
func (b *testBackend) Announcements(context.Context) ([]announce.Item, error) {
	return []announce.Item{{ID: "a1", Severity: announce.SeverityMaintenance, Title: "Wartung"}}, nil
}
func (b *testBackend) CheckUpdate(context.Context) error {
	e := problem.New(problem.NotSupported, "error.not_available", nil)
	e.Code = "not_available"
	return e
}
func (b *testBackend) Diagnostics(_ context.Context, w io.Writer) error {
	if b.Snapshot().Organisation == "broken" {
		return &Error{Status: 500, Code: "internal", Message: "disk full"}
	}
	_, err := io.WriteString(w, "PK-zip-bytes")
	return err
}
func (b *testBackend) SendReport(context.Context) (time.Time, error) {
	if b.Snapshot().Organisation == "broken" {
		return time.Time{}, &Error{Status: 503, Code: "report_portal_down", Key: "support.report.portal_down", Message: "portal down"}
	}
	return time.Date(2026, 1, 5, 9, 30, 0, 0, time.UTC), nil
}
func (b *testBackend) ChooseUpdate(_ context.Context, choice string) error {
	b.Update(func(s *state.Snapshot) { s.Update.Chosen = choice })
	return nil
}
func (b *testBackend) SetSafeMode(_ context.Context, on bool) error {
	b.Update(func(s *state.Snapshot) { s.SafeMode = on })
	return nil
}
func (b *testBackend) Enroll(_ context.Context, act EnrollAction) (enroll.View, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if act.Action == EnrollSignIn {
		b.enrollView.Step = enroll.StepAuthenticator
		b.enrollView.User = act.User
		b.enrollView.Seq++
		for _, ch := range b.enrollSubs {
			select {
			case ch <- b.enrollView:
			default:
			}
		}
	}
	return b.enrollView, nil
}
func (b *testBackend) SubscribeEnroll() (<-chan enroll.View, func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := make(chan enroll.View, 4)
	ch <- b.enrollView
	b.enrollSubs = append(b.enrollSubs, ch)
	return ch, func() {}
}
func (b *testBackend) Quit() {
	b.mu.Lock()
	b.quitted = true
	b.mu.Unlock()
}

// startServer serves a fresh backend on a socket in a temp dir.
func startServer(tb testing.TB, cfg Config) (*Server, *testBackend, *Client) {
	tb.Helper()
	// Unix socket paths are limited to 108 bytes; t.TempDir can be longer.
	dir, err := os.MkdirTemp("", "lapi")
	if err != nil {
		tb.Fatalf("MkdirTemp: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "run", socketName)
	b := &testBackend{Store: state.NewStore(state.Snapshot{Organisation: "Stadt Musterstadt"}, nil)}
	srv := NewServer(everything(b), cfg)
	if err := srv.Listen(path); err != nil {
		tb.Fatalf("Listen: %v", err)
	}
	tb.Cleanup(func() { srv.Close() })
	return srv, b, NewClient(path)
}

func TestStatusAndActions(t *testing.T) {
	t.Parallel()
	_, b, c := startServer(t, Config{})
	ctx := context.Background()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.Organisation != "Stadt Musterstadt" || st.Session != state.NotConnected {
		t.Errorf("Status = %+v", st)
	}
	if err := c.StartSession(ctx, "123456"); err != nil {
		t.Fatalf("StartSession: %v", err)
	}
	if got := b.Snapshot().Session; got != state.Connecting {
		t.Errorf("session after start = %v, want connecting", got)
	}
	err = c.StartSession(ctx, "000000")
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Code != "wrong_code" || apiErr.Key != "code.wrong" || apiErr.Status != http.StatusUnprocessableEntity {
		t.Errorf("StartSession(wrong) = %#v, want wrong_code 422", err)
	}
	if err := c.CheckUpdate(ctx); !errors.As(err, &apiErr) || apiErr.Code != "not_available" {
		t.Errorf("CheckUpdate = %v, want not_available", err)
	}
	if err := c.OpenWindow(ctx, "nonsense"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
		t.Errorf("OpenWindow(nonsense) = %v, want 400", err)
	}
	if items, err := c.Announcements(ctx); err != nil || len(items) != 1 || items[0].Title != "Wartung" {
		t.Errorf("Announcements = %+v, %v", items, err)
	}
	if err := c.ChooseUpdate(ctx, UpdateNow); err != nil || b.Snapshot().Update.Chosen != UpdateNow {
		t.Errorf("ChooseUpdate(now) = %v, chosen %q", err, b.Snapshot().Update.Chosen)
	}
	if err := c.ChooseUpdate(ctx, "tomorrow"); !errors.As(err, &apiErr) || apiErr.Code != "bad_choice" {
		t.Errorf("ChooseUpdate(tomorrow) = %v, want bad_choice", err)
	}
	if err := c.SetSafeMode(ctx, true); err != nil || !b.Snapshot().SafeMode {
		t.Errorf("SetSafeMode(true) = %v, safe mode %v", err, b.Snapshot().SafeMode)
	}
	if err := c.OpenWindow(ctx, WindowSupport); err != nil {
		t.Fatalf("OpenWindow: %v", err)
	}
	b.mu.Lock()
	opened := strings.Join(b.opened, ",")
	b.mu.Unlock()
	if opened != WindowSupport {
		t.Errorf("opened = %q", opened)
	}
}

// Only the local API turns a problem's kind into a status; the body keeps
// the code, key, args and message the CLI and the windows show.
func TestProblemKindsGetTheirStatus(t *testing.T) {
	t.Parallel()
	_, _, c := startServer(t, Config{})
	for kind, status := range map[problem.Kind]int{
		problem.Internal: 500, problem.Invalid: 400, problem.Denied: 401, problem.Forbidden: 403,
		problem.Conflict: 409, problem.Limited: 429, problem.Unavailable: 503, problem.NotSupported: 501,
	} {
		err := c.StartSession(context.Background(), fmt.Sprintf("9900%02d", int(kind)))
		var apiErr *Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("%v: StartSession = %v, want an API error", kind, err)
		}
		if apiErr.Status != status || apiErr.Code != "portal.error.wrong_code_attempts" || apiErr.Key != "portal.error.wrong_code_attempts" ||
			apiErr.Args["Attempts"] != "2" || apiErr.Message != "portal said no" {
			t.Errorf("%v: %+v, want status %d with the problem's code, key, args and cause", kind, apiErr, status)
		}
	}
}

func TestSocketIsPrivate(t *testing.T) {
	t.Parallel()
	_, _, c := startServer(t, Config{})
	st, err := os.Stat(c.SocketPath())
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("socket mode = %o, want 600", perm)
	}
	dst, err := os.Stat(filepath.Dir(c.SocketPath()))
	if err != nil {
		t.Fatalf("Stat dir: %v", err)
	}
	if perm := dst.Mode().Perm(); perm != 0o700 {
		t.Errorf("socket dir mode = %o, want 700", perm)
	}
}

func TestWatchStreamsChanges(t *testing.T) {
	t.Parallel()
	_, b, c := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events, err := c.Watch(ctx, "")
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	first := <-events
	if first.Type != EventState || first.State.Session != state.NotConnected {
		t.Fatalf("first event = %+v", first)
	}
	b.Update(func(s *state.Snapshot) { s.Session = state.Connected })
	for ev := range events {
		if ev.Type == EventState && ev.State.Session == state.Connected {
			return
		}
	}
	t.Fatal("stream ended before the change arrived")
}

// A stream with ?window=NAME holds the window through the backend's
// claim: a refused claim is a 409 with the backend's code, the holder's
// control events arrive on its stream, a close ends it, and the claim is
// released when the stream ends.
func TestWindowClaimOverHTTP(t *testing.T) {
	t.Parallel()
	_, b, c := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first, err := c.Watch(ctx, WindowStatus)
	if err != nil {
		t.Fatalf("Watch(first): %v", err)
	}
	<-first // initial state
	_, err = c.Watch(ctx, WindowStatus)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Code != "window_open" || apiErr.Status != http.StatusConflict {
		t.Fatalf("Watch(second) = %v, want window_open 409", err)
	}
	if ev := <-first; ev.Type != EventRaise {
		t.Errorf("first holder got %+v, want raise", ev)
	}
	if !b.tell(WindowStatus, EventClose) {
		t.Fatal("the status window is not held")
	}
	if ev := <-first; ev.Type != EventClose {
		t.Errorf("first holder got %+v, want close", ev)
	}
	if _, ok := <-first; ok {
		t.Error("stream went on after close")
	}
	// The server ends its side after sending close; the claim goes with it.
	deadline := time.Now().Add(5 * time.Second)
	for len(b.open()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("window stayed claimed after close: %v", b.open())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func rawRequest(tb testing.TB, c *Client, method, path, body string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(method, "http://agent"+path, strings.NewReader(body))
	if err != nil {
		tb.Fatalf("NewRequest: %v", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		tb.Fatalf("Do: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMalformedRequestsGetClearErrors(t *testing.T) {
	t.Parallel()
	_, b, c := startServer(t, Config{})
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantText   string
	}{
		{name: "broken_json", method: "POST", path: "/v1/session/start", body: `{"code": 12`, wantStatus: 400, wantText: "malformed JSON body"},
		{name: "wrong_type", method: "POST", path: "/v1/session/start", body: `{"code": 123456}`, wantStatus: 400, wantText: "malformed JSON body"},
		{name: "unknown_field", method: "POST", path: "/v1/session/start", body: `{"cod": "123456"}`, wantStatus: 400, wantText: "unknown field"},
		{name: "empty_body", method: "POST", path: "/v1/session/start", body: ``, wantStatus: 400, wantText: "empty body"},
		{name: "trailing_data", method: "POST", path: "/v1/windows/open", body: `{"window":"status"} {}`, wantStatus: 400, wantText: "trailing data"},
		// Found by FuzzRequestDecoders: dec.More let a closing bracket pass.
		{name: "trailing_brace", method: "POST", path: "/v1/session/start", body: `{"code":"000000"}}`, wantStatus: 400, wantText: "trailing data"},
		{name: "trailing_bracket", method: "POST", path: "/v1/session/start", body: `{"code":"000000"}]`, wantStatus: 400, wantText: "trailing data"},
		{name: "trailing_space", method: "POST", path: "/v1/windows/open", body: "{\"window\":\"status\"} \n", wantStatus: 200},
		{name: "oversized", method: "POST", path: "/v1/session/start", body: `{"code":"` + strings.Repeat("1", 2*maxBody) + `"}`, wantStatus: 400, wantText: "larger than"},
		{name: "unknown_path", method: "GET", path: "/v1/nope", wantStatus: 404, wantText: "no such endpoint"},
		{name: "wrong_method", method: "GET", path: "/v1/session/start", wantStatus: 405},
		{name: "unknown_window", method: "GET", path: "/v1/watch?window=evil", wantStatus: 400, wantText: "unknown window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rawRequest(t, c, tt.method, tt.path, tt.body)
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", status, tt.wantStatus, body)
			}
			if !strings.Contains(body, tt.wantText) {
				t.Errorf("body %q does not contain %q", body, tt.wantText)
			}
		})
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.codes) != 0 {
		t.Errorf("backend saw codes %v from malformed requests", b.codes)
	}
}

// The kernel's peer credentials decide who may talk to the agent.
func TestOtherUIDIsRefused(t *testing.T) {
	t.Parallel()
	other := os.Getuid() + 1
	_, _, c := startServer(t, Config{AllowedUID: &other})
	_, err := c.Status(context.Background())
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Fatalf("Status as uid %d = %v, want 403", os.Getuid(), err)
	}
	if want := fmt.Sprintf("uid %d may not use this agent", os.Getuid()); !strings.Contains(apiErr.Message, want) {
		t.Errorf("message %q does not say %q", apiErr.Message, want)
	}
}

func TestSecondAgentAndStaleSocket(t *testing.T) {
	t.Parallel()
	_, _, c := startServer(t, Config{})
	second := NewServer(Backend{State: state.NewStore(state.Snapshot{}, nil)}, Config{})
	if err := second.Listen(c.SocketPath()); !errors.Is(err, ErrAgentRunning) {
		t.Fatalf("second Listen = %v, want ErrAgentRunning", err)
	}

	// A socket file with nobody behind it, as a crashed agent leaves it.
	dir, err := os.MkdirTemp("", "lapi")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	stale := filepath.Join(dir, socketName)
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("stale socket missing: %v", err)
	}
	third := NewServer(Backend{State: state.NewStore(state.Snapshot{Organisation: "neu"}, nil)}, Config{})
	if err := third.Listen(stale); err != nil {
		t.Fatalf("Listen over stale socket: %v", err)
	}
	defer third.Close()
	st, err := NewClient(stale).Status(context.Background())
	if err != nil || st.Organisation != "neu" {
		t.Errorf("Status via replaced socket = %+v, %v", st, err)
	}
}

func TestClientReportsAgentNotRunning(t *testing.T) {
	t.Parallel()
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"))
	if _, err := c.Status(context.Background()); !errors.Is(err, ErrAgentNotRunning) {
		t.Errorf("Status = %v, want ErrAgentNotRunning", err)
	}
}

func TestQuitAnswersThenQuits(t *testing.T) {
	t.Parallel()
	_, b, c := startServer(t, Config{})
	if err := c.Quit(context.Background()); err != nil {
		t.Fatalf("Quit: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		q := b.quitted
		b.mu.Unlock()
		if q {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("backend Quit was not called")
}

func TestDiagnosticsStream(t *testing.T) {
	t.Parallel()
	_, b, c := startServer(t, Config{})
	var buf strings.Builder
	if err := c.Diagnostics(context.Background(), &buf); err != nil {
		t.Fatalf("Diagnostics: %v", err)
	}
	if buf.String() != "PK-zip-bytes" {
		t.Errorf("got %q", buf.String())
	}
	b.Update(func(s *state.Snapshot) { s.Organisation = "broken" })
	buf.Reset()
	err := c.Diagnostics(context.Background(), &buf)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Message != "disk full" || buf.Len() != 0 {
		t.Errorf("Diagnostics on failure = %v, wrote %q", err, buf.String())
	}
}

func TestEnrollEndpoints(t *testing.T) {
	t.Parallel()
	_, _, c := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	views, err := c.WatchEnroll(ctx)
	if err != nil {
		t.Fatalf("WatchEnroll: %v", err)
	}
	if first := <-views; first.Step != "" {
		t.Fatalf("first view = %+v", first)
	}
	v, err := c.Enroll(ctx, EnrollAction{Action: EnrollSignIn, User: "anna", ActivationCode: "X"})
	if err != nil || v.Step != enroll.StepAuthenticator || v.User != "anna" {
		t.Fatalf("Enroll(sign_in) = %+v, %v", v, err)
	}
	if next := <-views; next.Step != enroll.StepAuthenticator {
		t.Errorf("stream did not follow: %+v", next)
	}
	if got, err := c.EnrollView(ctx); err != nil || got.Step != enroll.StepAuthenticator {
		t.Errorf("EnrollView = %+v, %v", got, err)
	}
	_, err = c.Enroll(ctx, EnrollAction{Action: "format_disk"})
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Code != "bad_action" {
		t.Errorf("unknown action = %v, want bad_action", err)
	}
}

// SetSetting refuses the key "locked" as the agent refuses a setting IT
// locked, and stores the others in the snapshot.
func (b *testBackend) SetSetting(_ context.Context, key string, value any) error {
	if key == "locked" {
		e := problem.New(problem.Forbidden, "settings.locked", errors.New("locked by policy"), "Organisation", "Stadt Musterstadt")
		e.Code = "setting_locked"
		return e
	}
	b.Update(func(s *state.Snapshot) {
		s.Settings.List = []state.Setting{{Key: key, Value: value, Source: "user", Changeable: true}}
	})
	return nil
}

func TestSettingsOverHTTP(t *testing.T) {
	t.Parallel()
	_, _, c := startServer(t, Config{})
	ctx := context.Background()
	if err := c.SetSetting(ctx, "auto_start", true); err != nil {
		t.Fatalf("SetSetting: %v", err)
	}
	s, err := c.Settings(ctx)
	if err != nil {
		t.Fatalf("Settings: %v", err)
	}
	if e, ok := s.Get("auto_start"); !ok || e.Value != true || e.Source != "user" {
		t.Errorf("Settings = %+v", s)
	}
	var apiErr *Error
	if err := c.SetSetting(ctx, "locked", 1); !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden ||
		apiErr.Code != "setting_locked" || apiErr.Key != "settings.locked" || apiErr.Args["Organisation"] != "Stadt Musterstadt" {
		t.Errorf("locked: %v, want 403 setting_locked with the organisation", err)
	}
	// Both methods of the path are named to a caller using another.
	err = c.do(ctx, http.MethodPost, "/v1/settings", SettingRequest{Key: "x"}, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusMethodNotAllowed || !strings.Contains(apiErr.Message, "GET, PUT") {
		t.Errorf("POST /v1/settings: %v, want 405 naming GET, PUT", err)
	}
}

// The report's time comes back to the window; a failure keeps its
// message key, so the window says why in the employee's words.
func TestSendReport(t *testing.T) {
	t.Parallel()
	_, b, c := startServer(t, Config{})
	at, err := c.SendReport(context.Background())
	if err != nil || !at.Equal(time.Date(2026, 1, 5, 9, 30, 0, 0, time.UTC)) {
		t.Fatalf("SendReport = %v, %v", at, err)
	}
	b.Update(func(s *state.Snapshot) { s.Organisation = "broken" })
	_, err = c.SendReport(context.Background())
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Key != "support.report.portal_down" || apiErr.Status != 503 {
		t.Errorf("SendReport on failure = %#v", err)
	}
}
