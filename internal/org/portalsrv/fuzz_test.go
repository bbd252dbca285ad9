package portalsrv

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/dienstweg/dienstweg/internal/portal/api"
)

// requestTypes are the bodies the portal decodes.
func requestTypes() []any {
	return []any{
		&api.EnrollmentStartRequest{},
		&api.EnrollmentConfirmRequest{},
		&api.DeviceRegisterRequest{},
		&api.SessionRequest{},
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"user":"anna","activation_code":"AAAA-BBBB-CCCC"}`,
		`{"code":"123456","CODE":"1","extra":{"a":[1,2]}}`, `{"user": 5}`, `{"user":"a"} {}`,
		`{"enrollment_id":"dwe1_x","public_key":"c2hvcnQ=","name":"\u00e9\ud800"}`, `{"user":"a",`, "\xff\xfe{}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v := range requestTypes() {
			status, e := decodeJSON(b, v)
			switch status {
			case 0:
				// What decoded must encode and decode again.
				out, err := json.Marshal(v)
				if err != nil {
					t.Fatalf("re-encoding %T: %v", v, err)
				}
				if st, e := decodeJSON(out, v); st != 0 {
					t.Fatalf("re-decoding %s: %d %v", out, st, e)
				}
				for _, k := range unknownFields(b, v) {
					if slices.Contains(jsonNames(v), strings.ToLower(k)) {
						t.Fatalf("known field %q reported unknown in %q", k, b)
					}
				}
			case http.StatusBadRequest:
				if e.Code != api.CodeMalformedJSON || e.Message == "" {
					t.Fatalf("error for %q = %+v", b, e)
				}
			default:
				t.Fatalf("status %d for %q", status, b)
			}
		}
	})
}

func jsonNames(v any) []string {
	var out []string
	b, _ := json.Marshal(v)
	var m map[string]any
	json.Unmarshal(b, &m)
	for k := range m {
		out = append(out, strings.ToLower(k))
	}
	return out
}

// declaredBody reads like net/http's request body: at most the declared
// length, and io.ErrUnexpectedEOF if less arrives.
type declaredBody struct {
	r    io.Reader
	left int64
}

func (d *declaredBody) Read(p []byte) (int, error) {
	if d.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, err := d.r.Read(p)
	d.left -= int64(n)
	if err == io.EOF && d.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (d *declaredBody) Close() error { return nil }

// FuzzBodyLayer drives withBody and decode as the POST handlers use them,
// with any content type, declared length and body.
func FuzzBodyLayer(f *testing.F) {
	f.Add("application/json", int64(-1), []byte(`{"code":"123456"}`))
	f.Add("application/json; charset=utf-8", int64(100), []byte(`{"code":`))
	f.Add("text/plain", int64(0), []byte(`{}`))
	f.Add("application/json", int64(1<<30), []byte(`{"code":"1"}`))
	f.Add("", int64(0), []byte(``))
	f.Add("application/json;charset=\"", int64(-2), []byte(`{"code":"1","x":2}`))
	s := &Server{cfg: Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	s.cfg.setDefaults()
	s.log = s.cfg.Logger
	h := s.withBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req api.SessionRequest
		if s.decode(w, r, &req) {
			writeJSON(w, http.StatusOK, req)
		}
	}))
	f.Fuzz(func(t *testing.T, ct string, declared int64, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/session", nil)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		switch {
		case declared == -1: // chunked: as long as it is
			req.ContentLength = -1
		case declared < 0: // the declared length is the real one
			req.ContentLength = int64(len(body))
		default:
			req.ContentLength = declared
		}
		if req.ContentLength != 0 {
			left := req.ContentLength
			if left < 0 {
				left = int64(len(body))
			}
			req.Body = &declaredBody{r: bytes.NewReader(body), left: left}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		if rec.Code == http.StatusOK {
			if !isJSON(ct) || req.ContentLength > s.cfg.MaxBodyBytes {
				t.Fatalf("accepted Content-Type %q, length %d", ct, req.ContentLength)
			}
			return
		}
		var e api.Error
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || !slices.Contains(api.AllCodes, e.Code) || e.Message == "" {
			t.Fatalf("answer %d %q is no API error", rec.Code, rec.Body)
		}
		want := map[string]int{
			api.CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
			api.CodeBodyTooLarge:         http.StatusRequestEntityTooLarge,
			api.CodeMalformedJSON:        http.StatusBadRequest,
		}[e.Code]
		if rec.Code != want {
			t.Fatalf("status %d for %s", rec.Code, e.Code)
		}
		if e.Code == api.CodeUnsupportedMediaType && isJSON(ct) {
			t.Fatalf("refused JSON Content-Type %q", ct)
		}
		if e.Code == api.CodeBodyTooLarge && req.ContentLength <= s.cfg.MaxBodyBytes && int64(len(body)) <= s.cfg.MaxBodyBytes {
			t.Fatalf("too large: length %d, body %d", req.ContentLength, len(body))
		}
	})
}
