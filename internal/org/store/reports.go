package store

import (
	"context"
	"time"
)

// Reports keeps the state each device last sent with "An den IT-Service
// senden", for the helpdesk to look up by support code. Implementations
// are safe for concurrent use.
type Reports interface {
	// PutReport stores r as its device's report, replacing the one before.
	// A support code belongs to the device whose report holds it: while
	// another device's report has r.SupportCode, PutReport stores nothing
	// and returns ErrConflict, so no device can put its state under
	// another's code. The code is free again once that device sends
	// another code or its report is pruned.
	PutReport(ctx context.Context, r Report) error
	// ReportBySupportCode returns the report sent with this support code;
	// ErrNotFound if none.
	ReportBySupportCode(ctx context.Context, code string) (Report, error)
}

// KeepReports is how long a report stays: a helpdesk looks at it while on
// the phone with the employee, and an old one would mislead. Prune
// deletes older ones.
const KeepReports = 30 * 24 * time.Hour

// Report is one device's last report.
type Report struct {
	DeviceID string
	// User is the device's owner as the portal knows it, not as sent.
	User string
	// SupportCode is the code the device sent (see internal/support).
	SupportCode string
	ReceivedAt  time.Time
	// Body is the report as the device sent it (api.DeviceReport, JSON),
	// within the portal's body limit; the store does not read it.
	Body []byte
}
