package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/localapi/wire"
	"github.com/dienstweg/dienstweg/internal/state"
)

// fuzzBackend records what reached it, so the fuzz target can check that
// only validated requests get through.
type fuzzBackend struct {
	*state.Store
	testWindows
	mu    sync.Mutex
	calls []any
}

func (b *fuzzBackend) record(v any) {
	b.mu.Lock()
	b.calls = append(b.calls, v)
	b.mu.Unlock()
}

func (b *fuzzBackend) last() any {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.calls) == 0 {
		return nil
	}
	return b.calls[len(b.calls)-1]
}

func (b *fuzzBackend) SetSetting(_ context.Context, key string, value any) error {
	b.record(SettingRequest{Key: key, Value: value})
	return nil
}

func (b *fuzzBackend) StartSession(_ context.Context, code string) error {
	b.record(StartRequest{Code: code})
	return nil
}
func (b *fuzzBackend) EndSession(context.Context) error { b.record("end"); return nil }
func (b *fuzzBackend) OpenWindow(name string) error {
	b.record(OpenWindowRequest{Window: name})
	return nil
}
func (b *fuzzBackend) MarkRead(_ context.Context, req MarkReadRequest) error {
	b.record(req)
	return nil
}
func (b *fuzzBackend) Announcements(context.Context) ([]announce.Item, error) { return nil, nil }
func (b *fuzzBackend) CheckUpdate(context.Context) error                      { return nil }
func (b *fuzzBackend) ChooseUpdate(_ context.Context, choice string) error {
	b.record(UpdateChoiceRequest{Choice: choice})
	return nil
}
func (b *fuzzBackend) OpenDesktop(_ context.Context, name string) (DesktopOpened, error) {
	b.record(OpenDesktopRequest{Name: name})
	return DesktopOpened{Client: "xfreerdp"}, nil
}
func (b *fuzzBackend) SetSafeMode(_ context.Context, on bool) error {
	b.record(SafeModeRequest{On: on})
	return nil
}
func (b *fuzzBackend) Enroll(_ context.Context, act EnrollAction) (enroll.View, error) {
	b.record(act)
	return enroll.View{Step: enroll.StepWelcome}, nil
}
func (b *fuzzBackend) SubscribeEnroll() (<-chan enroll.View, func()) {
	ch := make(chan enroll.View, 1)
	ch <- enroll.View{}
	return ch, func() {}
}
func (b *fuzzBackend) Diagnostics(_ context.Context, w io.Writer) error {
	_, err := io.WriteString(w, "zip")
	return err
}
func (b *fuzzBackend) SendReport(context.Context) (time.Time, error) { return time.Time{}, nil }
func (b *fuzzBackend) Quit()                                         {}

// fuzzRoutes are the requests that carry untrusted input: the JSON bodies
// of the POST routes and the query of the watch streams.
var fuzzRoutes = []struct {
	method, path string
	// body is a fresh value of the route's request type; nil for none.
	body func() any
	// valid says whether a decoded body may reach the backend.
	valid func(v any) bool
}{
	{"POST", "/v1/session/start", func() any { return &StartRequest{} }, nil},
	{"POST", "/v1/windows/open", func() any { return &OpenWindowRequest{} }, func(v any) bool { return ValidWindow(v.(*OpenWindowRequest).Window) }},
	{"POST", "/v1/announcements/read", func() any { return &MarkReadRequest{} }, nil},
	{"POST", "/v1/update/choose", func() any { return &UpdateChoiceRequest{} }, func(v any) bool {
		c := v.(*UpdateChoiceRequest).Choice
		return c == UpdateNow || c == UpdateAtSessionEnd
	}},
	{"POST", "/v1/safemode", func() any { return &SafeModeRequest{} }, nil},
	{"POST", "/v1/desktop/open", func() any { return &OpenDesktopRequest{} }, nil},
	{"POST", "/v1/enroll", func() any { return &EnrollAction{} }, func(v any) bool { return wire.ValidEnrollAction(v.(*EnrollAction).Action) }},
	// The person's settings: any JSON value reaches the backend, which
	// checks it against the policy schema (agent.SetSetting).
	{"PUT", "/v1/settings", func() any { return &SettingRequest{} }, nil},
	{"GET", "/v1/watch", nil, nil},
	{"GET", "/v1/enroll/watch", nil, nil},
	{"GET", "/v1/status", nil, nil},
}

// strictDecode is the contract of readJSON, written down independently:
// exactly one JSON object of the route's type, no unknown fields, nothing
// after it but white space, at most maxBody bytes.
func strictDecode(body []byte, v any) bool {
	if len(body) > maxBody {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return false
	}
	_, err := dec.Token()
	return errors.Is(err, io.EOF)
}

// FuzzRequestDecoders sends arbitrary bodies and queries to the routes of
// the local API through its real handler (behind the peer check, as the
// agent's own uid). Whatever comes in: no panic; an answer that is JSON
// (or the stream's ndjson); a 200 only for a body that the strict
// contract accepts and whose values are valid; and only such values reach
// the backend.
func FuzzRequestDecoders(f *testing.F) {
	seeds := []struct {
		path  string
		query string
		body  string
	}{
		{"/v1/session/start", "", `{"code":"123456"}`},
		{"/v1/session/start", "", `{"code":"123456"} {"code":"1"}`},
		{"/v1/session/start", "", `{"code":"123456"}garbage`},
		{"/v1/session/start", "", `{"code":123456}`},
		{"/v1/session/start", "", `{"code":"123456","extra":1}`},
		{"/v1/session/start", "", `{"Code":"123456"}`},
		{"/v1/session/start", "", `{"code":"\ud800"}`},
		{"/v1/session/start", "", "{\"code\":\"\xff\xfe\"}"},
		{"/v1/session/start", "", `null`},
		{"/v1/session/start", "", `[]`},
		{"/v1/session/start", "", ``},
		{"/v1/session/start", "", `{"code":"1","code":"2"}`},
		{"/v1/windows/open", "", `{"window":"status"}`},
		{"/v1/windows/open", "", `{"window":"../../etc/passwd"}`},
		{"/v1/windows/open", "", `{"window":"status\u0000"}`},
		{"/v1/announcements/read", "", `{"ids":["a","b"],"all":false}`},
		{"/v1/announcements/read", "", `{"ids":null,"all":true}`},
		{"/v1/announcements/read", "", `{"ids":[1,2]}`},
		{"/v1/update/choose", "", `{"choice":"now"}`},
		{"/v1/update/choose", "", `{"choice":"NOW"}`},
		{"/v1/safemode", "", `{"on":true}`},
		{"/v1/safemode", "", `{"on":"true"}`},
		{"/v1/enroll", "", `{"action":"sign_in","user":"anna","activation_code":"x"}`},
		{"/v1/enroll", "", `{"action":"rm -rf"}`},
		{"/v1/enroll", "", `{"action":""}`},
		{"/v1/desktop/open", "", `{"name":"Arbeitsplatz"}`},
		{"/v1/desktop/open", "", `{"name":"-o ProxyCommand=evil"}`},
		{"/v1/settings", "", `{"key":"language","value":"de"}`},
		{"/v1/settings", "", `{"key":"expiry_warning_minutes","value":30}`},
		{"/v1/settings", "", `{"key":"expiry_warning_minutes","value":1e400}`},
		{"/v1/settings", "", `{"key":"expiry_warning_minutes","value":-0.5e-400}`},
		{"/v1/settings", "", `{"key":"auto_start","value":null}`},
		{"/v1/settings", "", `{"key":"auto_start","value":{"a":[1,{"b":null}]}}`},
		{"/v1/settings", "", `{"key":"helpdesk_text","value":"\u0000\ud800"}`},
		{"/v1/settings", "", `{"key":"","value":[]}`},
		{"/v1/settings", "", `{"key":["language"],"value":"de"}`},
		{"/v1/settings", "", `{"key":"language"}`},
		{"/v1/settings", "", `{"key":"language","value":"de","extra":1}`},
		{"/v1/settings", "", `{"key":"language","value":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`},
		{"/v1/watch", "window=status", ``},
		{"/v1/watch", "window=evil", ``},
		{"/v1/watch", "window=status&window=wizard", ``},
		{"/v1/watch", "window=%zz", ``},
		{"/v1/watch", "window=stat%00us", ``},
		{"/v1/enroll/watch", "", ``},
		{"/v1/status", "x=1", `{"ignored":true}`},
		{"/v1/session/start", "", `{"code":"` + string(bytes.Repeat([]byte("9"), maxBody)) + `"}`},
		{"/v1/session/start", "", `{"code":` + string(bytes.Repeat([]byte("["), 20000)) + `}`},
	}
	for _, s := range seeds {
		f.Add(routeIndex(f, s.path), s.query, []byte(s.body))
	}
	// The fuzz engine logs a line per request otherwise.
	discard := slogDiscard()
	f.Fuzz(func(t *testing.T, route uint8, query string, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		b := &fuzzBackend{Store: state.NewStore(state.Snapshot{}, nil)}
		be := everything(b)
		be.Desktops = b
		srv := NewServer(be, Config{Logger: discard})
		req := &http.Request{
			Method: r.method,
			URL:    &url.URL{Path: r.path, RawQuery: query},
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   io.NopCloser(bytes.NewReader(body)),
			Host:   "agent",
		}
		req.ContentLength = int64(len(body))
		ctx := context.WithValue(context.Background(), ctxKey{}, os.Getuid())
		if r.method == "GET" {
			// Streams run until the caller goes; this one goes at once.
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			ctx = cctx
		}
		rec := httptest.NewRecorder()
		served := make(chan struct{})
		go func() {
			defer close(served)
			srv.Handler().ServeHTTP(rec, req.WithContext(ctx))
		}()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			buf := make([]byte, 1<<20)
			t.Fatalf("%s %s?%q %q: no answer in 10 s:\n%s", r.method, r.path, query, body, buf[:runtime.Stack(buf, true)])
		}

		status := rec.Code
		ct := rec.Header().Get("Content-Type")
		if ct != "application/json" && ct != "application/x-ndjson" {
			t.Fatalf("%s %s?%s: Content-Type %q (status %d)", r.method, r.path, query, ct, status)
		}
		if status != http.StatusOK {
			var eb errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error == nil || eb.Error.Code == "" {
				t.Fatalf("%s %s: status %d without an error body: %q", r.method, r.path, status, rec.Body.String())
			}
			if status >= 500 {
				t.Fatalf("%s %s: server error %d for client input: %q", r.method, r.path, status, rec.Body.String())
			}
		}
		switch {
		case r.body != nil:
			want := r.body()
			accept := strictDecode(body, want) && (r.valid == nil || r.valid(want))
			if accept != (status == http.StatusOK) {
				t.Fatalf("%s %q: status %d, but the strict contract says accept=%v", r.path, body, status, accept)
			}
			got := b.last()
			if !accept {
				if got != nil {
					t.Fatalf("%s %q: a refused request reached the backend as %#v", r.path, body, got)
				}
				return
			}
			// The backend got exactly the decoded values.
			if !sameRequest(got, want) {
				t.Fatalf("%s %q: backend got %#v, decoded %#v", r.path, body, got, want)
			}
		case r.path == "/v1/watch":
			// net/url keeps the good pairs of a query with bad ones.
			q, _ := url.ParseQuery(query)
			window := q.Get("window")
			valid := window == "" || ValidWindow(window)
			if valid != (status == http.StatusOK) {
				t.Fatalf("watch?%s: status %d, window %q valid=%v", query, status, window, valid)
			}
			if status == http.StatusOK && window != "" && slices.Contains(b.open(), window) {
				t.Fatalf("watch?%s: window %q still held after the caller went", query, window)
			}
		default:
			if status != http.StatusOK {
				t.Fatalf("%s %s?%s: status %d", r.method, r.path, query, status)
			}
		}
	})
}

// routeIndex is the fuzz input that picks the route of path, so seeds
// name their route and stay right when a route is added.
func routeIndex(tb testing.TB, path string) uint8 {
	tb.Helper()
	for i, r := range fuzzRoutes {
		if r.path == path {
			return uint8(i)
		}
	}
	tb.Fatalf("no fuzz route %s", path)
	return 0
}

func slogDiscard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// sameRequest: the backend got exactly the decoded value (want points to
// it).
func sameRequest(got, want any) bool {
	return reflect.DeepEqual(got, reflect.ValueOf(want).Elem().Interface())
}
