package portalsrv

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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

// decode reads a JSON body into v. On failure it answers 400 or 413 with a
// message that names the problem and returns false.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	dec := json.NewDecoder(body)
	err := dec.Decode(v)
	if err == nil {
		// Exactly one JSON value: trailing data means a broken client.
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	var (
		mbe  *http.MaxBytesError
		se   *json.SyntaxError
		ute  *json.UnmarshalTypeError
		code = "malformed_json"
		msg  string
	)
	status := http.StatusBadRequest
	switch {
	case errors.As(err, &mbe):
		status, code = http.StatusRequestEntityTooLarge, "body_too_large"
		msg = fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)
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
	writeError(w, status, errBody(code, msg))
	return false
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
