package console

import (
	"context"
	"errors"
	"fmt"

	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

// portalReports reads the reports devices send to the portal
// (PUT /api/v1/device/report), which the portal server stores.
type portalReports struct {
	srv *portalsrv.Server
	st  store.Store
}

// PortalReports is Reports over the portal server srv and its store st
// (for the device's name as registered).
func PortalReports(srv *portalsrv.Server, st store.Store) Reports {
	return portalReports{srv: srv, st: st}
}

func (p portalReports) ReportBySupportCode(ctx context.Context, code string) (Report, error) {
	r, err := p.srv.ReportBySupportCode(ctx, code)
	if errors.Is(err, portalsrv.ErrNoReport) {
		return Report{}, ErrNoReport
	}
	if err != nil {
		return Report{}, fmt.Errorf("looking up report %s: %w", code, err)
	}
	out := Report{
		SupportCode: r.SupportCode, User: r.User, DeviceID: r.DeviceID, Version: r.Version, Screen: r.Screen,
		Session: r.Headline, OS: r.OS, TunnelMode: r.TunnelMode, SentAt: r.ReceivedAt,
	}
	for _, l := range r.Health {
		out.Health = append(out.Health, HealthCheck{Name: l.Name, OK: l.OK, Detail: l.Detail})
	}
	for _, e := range r.Errors {
		out.Errors = append(out.Errors, e.Time.In(berlin).Format("02.01. 15:04")+" – "+e.Text)
	}
	// The name the device was registered with, from the portal's records.
	dev, err := p.st.DeviceByID(ctx, r.DeviceID)
	switch {
	case err == nil:
		out.DeviceName = dev.Name
	case !errors.Is(err, store.ErrNotFound):
		return Report{}, fmt.Errorf("looking up report %s: %w", code, err)
	}
	return out, nil
}
