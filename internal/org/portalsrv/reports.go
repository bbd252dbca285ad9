package portalsrv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/portal/api"
	"github.com/dienstweg/dienstweg/internal/support"
)

// AuditDeviceReport: a device sent its report for the IT service.
const AuditDeviceReport = "device.report"

// AuditDeviceReportRefused: a device sent a report with a support code
// that belongs to another device; nothing was stored.
const AuditDeviceReportRefused = "device.report_refused"

// A device may send reportBurst reports in a row, then one every
// reportEvery: a stuck or impatient button cannot flood the store.
const (
	reportBurst = 3
	reportEvery = time.Minute
	// maxReportItems bounds the health links and errors of one report
	// (the client sends about 6 and 10).
	maxReportItems = 32
)

func (s *Server) handleDeviceReport(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d, _, err := s.device(r, true)
	if errors.Is(err, errNoCredential) {
		err = unauthorised()
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req api.DeviceReport
	if !s.decode(w, r, &req) {
		return
	}
	code, ok := support.NormaliseCode(req.SupportCode)
	if !ok {
		writeError(w, http.StatusBadRequest, errBody(api.CodeBadRequest, "support_code is not a support code (DW-XXXX-XX)"))
		return
	}
	if len(req.Health) > maxReportItems || len(req.Errors) > maxReportItems {
		writeError(w, http.StatusBadRequest, errBody(api.CodeBadRequest, fmt.Sprintf("a report has at most %d health links and %d errors", maxReportItems, maxReportItems)))
		return
	}
	req.SupportCode = code
	now := s.cfg.Now()
	key := "report:" + d.ID
	wait, err := s.st.TokenWait(ctx, key, now, reportEvery, reportBurst)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if wait > 0 {
		secs := max(1, int(math.Ceil(wait.Seconds())))
		s.fail(w, r, &apiError{
			status:     http.StatusTooManyRequests,
			body:       api.Error{Code: api.CodeRateLimited, Message: fmt.Sprintf("this device sent several reports just now, retry after %d seconds", secs), RetryAfterSeconds: secs},
			retryAfter: time.Duration(secs) * time.Second,
		})
		return
	}
	if err := s.st.TakeToken(ctx, key, now, reportEvery); err != nil {
		s.fail(w, r, err)
		return
	}
	// Stored as re-encoded, so only the fields the portal knows are kept;
	// without HTML escaping, which could make it six times the body limit.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil {
		s.fail(w, r, fmt.Errorf("encoding report: %w", err))
		return
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	err = s.st.PutReport(ctx, store.Report{DeviceID: d.ID, User: d.User, SupportCode: code, ReceivedAt: now, Body: body})
	if errors.Is(err, store.ErrConflict) {
		// The device said whose code it is; the credential said which
		// device it is. They disagree, so the helpdesk keeps seeing the
		// code's own device, and this one is told to make a new code.
		s.audit(ctx, r, "user:"+d.User, AuditDeviceReportRefused, d.ID, map[string]string{"support_code": code})
		s.fail(w, r, newAPIError(http.StatusConflict, api.CodeSupportCodeTaken, "this support code belongs to another device; make a new one and send again"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(ctx, r, "user:"+d.User, AuditDeviceReport, d.ID, map[string]string{"support_code": code, "version": req.Version})
	writeJSON(w, http.StatusOK, api.ReportReceipt{ReceivedAt: now.UTC().Truncate(time.Second)})
}

// Report is a device's last report as the helpdesk reads it: what the
// device sent, and whose device it is by the portal's own records (not
// by anything the device claims).
type Report struct {
	DeviceID   string
	User       string
	ReceivedAt time.Time
	api.DeviceReport
}

// ErrNoReport: no device sent a report with that support code (in the
// last store.KeepReports), or the code is not one.
var ErrNoReport = errors.New("no report with this support code")

// ReportBySupportCode returns the report sent with code, as typed
// or dictated ("dw 7k3f q9"). Safe for concurrent use.
func (s *Server) ReportBySupportCode(ctx context.Context, code string) (Report, error) {
	code, ok := support.NormaliseCode(code)
	if !ok {
		return Report{}, ErrNoReport
	}
	sr, err := s.st.ReportBySupportCode(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		return Report{}, ErrNoReport
	}
	if err != nil {
		return Report{}, err
	}
	rep := Report{DeviceID: sr.DeviceID, User: sr.User, ReceivedAt: sr.ReceivedAt}
	if err := json.Unmarshal(sr.Body, &rep.DeviceReport); err != nil {
		return Report{}, fmt.Errorf("report of %s: %w", code, err)
	}
	return rep, nil
}
