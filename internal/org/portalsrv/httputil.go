package portalsrv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/dienstweg/dienstweg/internal/portal/api"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal","message":"encoding the answer failed"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError answers with an api.Error. The body depends only on its
// arguments, which is what makes "unknown user" and "wrong code" answers
// byte-identical.
func writeError(w http.ResponseWriter, status int, e any) {
	writeJSON(w, status, e)
}

// withBody reads a request's body, bounded in size and time, before the
// request is routed and may take a slot: a client that sends its body
// slowly holds only its own connection, never a slot that others need.
// What the handlers then read is the buffered body.
func (s *Server) withBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every body the API takes is JSON; refuse others before reading.
		if (r.Method == http.MethodPost || r.Method == http.MethodPut) && (r.ContentLength != 0 || r.Header.Get("Content-Type") != "") {
			if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
				refuseBody(w, http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType,
					fmt.Sprintf("Content-Type must be application/json, not %q", ct))
				return
			}
		}
		if r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > s.cfg.MaxBodyBytes {
			refuseBody(w, http.StatusRequestEntityTooLarge, api.CodeBodyTooLarge,
				fmt.Sprintf("request body is larger than %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		b, err := s.readBody(w, r)
		if err != nil {
			s.refuseBodyErr(w, r, len(b), err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		next.ServeHTTP(w, r)
	})
}

// readBody reads r's body within BodyTimeout.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	// A ResponseWriter without a connection (httptest) cannot take a
	// deadline; the server's ReadTimeout still applies there.
	if err := rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return nil, fmt.Errorf("setting body deadline: %w", err)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		return b, err
	}
	// The handler may take longer than the body deadline; an expired
	// deadline would cancel its context through the server's background
	// read.
	if err := rc.SetReadDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return b, fmt.Errorf("clearing body deadline: %w", err)
	}
	return b, nil
}

// refuseBodyErr answers a body that could not be read.
func (s *Server) refuseBodyErr(w http.ResponseWriter, r *http.Request, got int, err error) {
	var (
		mbe *http.MaxBytesError
		ne  net.Error
	)
	switch {
	case errors.As(err, &mbe):
		refuseBody(w, http.StatusRequestEntityTooLarge, api.CodeBodyTooLarge,
			fmt.Sprintf("request body is larger than %d bytes", mbe.Limit))
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		s.bodyTimeouts.Add(1)
		refuseBody(w, http.StatusRequestTimeout, api.CodeBodyTimeout,
			fmt.Sprintf("the request body did not arrive within %v", s.cfg.BodyTimeout))
	case errors.Is(err, io.ErrUnexpectedEOF) && r.ContentLength > 0:
		refuseBody(w, http.StatusBadRequest, api.CodeMalformedJSON,
			fmt.Sprintf("request body ended after %d of %d bytes (Content-Length)", got, r.ContentLength))
	default:
		refuseBody(w, http.StatusBadRequest, api.CodeMalformedJSON, "reading the request body: "+err.Error())
	}
}

// refuseBody answers without (all of) the body read and closes the
// connection: otherwise the server would first read what is left, from a
// client that may be slow on purpose.
func refuseBody(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Connection", "close")
	writeError(w, status, errBody(code, msg))
}

// isJSON reports whether a Content-Type is application/json, in UTF-8 if
// a charset is named.
func isJSON(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// decode reads a JSON body into v. On failure it answers 400 or 413 with a
// message that names the problem and returns false. Unknown fields are
// ignored, as the API promises so that newer clients work with older
// portals, but logged.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	// withBody has read and bounded the body already; the bound here keeps
	// decode safe on its own.
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		s.refuseBodyErr(w, r, len(b), err)
		return false
	}
	if status, e := decodeJSON(b, v); status != 0 {
		writeError(w, status, e)
		return false
	}
	if unknown := unknownFields(b, v); len(unknown) > 0 {
		s.logUnknownFields(r.Pattern, unknown)
	}
	return true
}

// decodeJSON decodes exactly one JSON value from b into v. On failure it
// returns the status and error body to answer.
func decodeJSON(b []byte, v any) (int, api.Error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	err := dec.Decode(v)
	if err == nil {
		// Exactly one JSON value: trailing data means a broken client.
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	if err == nil {
		return 0, api.Error{}
	}
	var (
		se  *json.SyntaxError
		ute *json.UnmarshalTypeError
		msg string
	)
	switch {
	case errors.Is(err, io.EOF):
		msg = "request body is empty, expected a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "request body is not valid JSON: it ends too early"
	case errors.As(err, &se):
		msg = fmt.Sprintf("request body is not valid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &ute):
		msg = fmt.Sprintf("field %q must be %s, not %s", ute.Field, ute.Type, ute.Value)
	default:
		msg = "request body is not valid JSON: " + err.Error()
	}
	return http.StatusBadRequest, errBody(api.CodeMalformedJSON, msg)
}

// unknownFields lists the top-level keys of the JSON object b that no
// field of the struct v points to takes. Keys match names case-insensitively,
// as encoding/json does. The request types are flat, so the top level is
// all there is.
func unknownFields(b []byte, v any) []string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var obj map[string]json.RawMessage
	if t == nil || t.Kind() != reflect.Struct || json.Unmarshal(b, &obj) != nil {
		return nil
	}
	var out []string
	for key := range obj {
		known := false
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if name == "" {
				name = t.Field(i).Name
			}
			if name != "-" && strings.EqualFold(name, key) {
				known = true
				break
			}
		}
		if !known {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out
}

// unknownFieldLogEvery bounds the log lines about unknown fields: any
// client can send them with every request.
const unknownFieldLogEvery = 10 * time.Second

func (s *Server) logUnknownFields(route string, fields []string) {
	s.unknownMu.Lock()
	now := time.Now()
	if now.Before(s.unknownNext) {
		s.unknownSuppressed++
		s.unknownMu.Unlock()
		return
	}
	suppressed := s.unknownSuppressed
	s.unknownSuppressed, s.unknownNext = 0, now.Add(unknownFieldLogEvery)
	s.unknownMu.Unlock()
	// Bound what a client puts into the log.
	if len(fields) > 8 {
		fields = fields[:8]
	}
	for i, f := range fields {
		if len(f) > 64 {
			fields[i] = f[:64] + "…"
		}
	}
	s.log.Warn("request body has unknown fields; ignored them (client newer than the portal, or broken)",
		"route", route, "fields", fields, "suppressed_since_last", suppressed)
}

// parseWGKey checks a base64 WireGuard key (32 bytes, not all zero).
func parseWGKey(s string) ([32]byte, error) {
	var k [32]byte
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return k, fmt.Errorf("not base64: %w", err)
	}
	if len(b) != 32 {
		return k, fmt.Errorf("%d bytes, want 32", len(b))
	}
	copy(k[:], b)
	if k == ([32]byte{}) {
		return k, errors.New("all zero")
	}
	return k, nil
}
