package helper

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// pbtAPMResumeAutomatic is the power event sent on every wake-up
// (PBT_APMRESUMEAUTOMATIC).
const pbtAPMResumeAutomatic = 0x12

// serviceHandler is the svc.Handler of the helper service. run serves
// until its context ends; it calls ready once callers can connect, and
// reads wake-ups from resumed. The handler holds no Windows state of its
// own, so tests drive Execute with plain channels.
type serviceHandler struct {
	run func(ctx context.Context, ready func(), resumed <-chan struct{}) error
	log *slog.Logger

	err error // what run returned
}

const (
	serviceAccepts = svc.AcceptStop | svc.AcceptShutdown | svc.AcceptPowerEvent
	// stopWait is the hint to the service manager while stopping: the
	// session is taken down, which closes the adapter.
	stopWait = 20 * time.Second
)

// Execute implements svc.Handler.
func (h *serviceHandler) Execute(_ []string, req <-chan svc.ChangeRequest, st chan<- svc.Status) (bool, uint32) {
	st <- svc.Status{State: svc.StartPending, WaitHint: uint32((30 * time.Second).Milliseconds())}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readyc := make(chan struct{})
	var readyOnce sync.Once
	resumed := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- h.run(ctx, func() { readyOnce.Do(func() { close(readyc) }) }, resumed)
	}()
	state := svc.Status{State: svc.StartPending}
	for {
		select {
		case <-readyc:
			readyc = nil // only once
			state = svc.Status{State: svc.Running, Accepts: serviceAccepts}
			st <- state
		case err := <-done:
			// run ended by itself: a failure (the pipe could not be
			// opened, say). Windows records the exit code, and the
			// service's recovery settings may restart it.
			h.err = err
			if err != nil {
				h.log.Error("helper service failed", "err", err)
				st <- svc.Status{State: svc.Stopped}
				return true, 1
			}
			st <- svc.Status{State: svc.Stopped}
			return false, 0
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				st <- state
			case svc.Stop, svc.Shutdown:
				st <- svc.Status{State: svc.StopPending, WaitHint: uint32(stopWait.Milliseconds())}
				cancel()
				h.err = <-done
				if h.err != nil {
					h.log.Error("helper stopped with an error", "err", h.err)
				}
				st <- svc.Status{State: svc.Stopped}
				return false, 0
			case svc.PowerEvent:
				if c.EventType == pbtAPMResumeAutomatic {
					select {
					case resumed <- struct{}{}:
					default: // one pending wake-up is enough
					}
				}
			}
		}
	}
}

// setRecovery asks the service manager to restart the helper when it
// fails, crash or error exit alike: each start cleans up what the
// failed run left (recover) and the agent can connect again. The MSI's
// wixl has no element for it, so the service sets it on itself (as
// LocalSystem it may); best effort, logged.
func setRecovery(log *slog.Logger) {
	m, err := mgr.Connect()
	if err != nil {
		log.Warn("setting the service's restart on failure", "err", err)
		return
	}
	defer m.Disconnect()
	s, err := m.OpenService(serviceName)
	if err != nil {
		log.Warn("setting the service's restart on failure", "err", err)
		return
	}
	defer s.Close()
	actions := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 2 * time.Minute},
	}
	// The failure count starts again after a day without failures.
	if err := s.SetRecoveryActions(actions, uint32((24 * time.Hour).Seconds())); err != nil {
		log.Warn("setting the service's restart on failure", "err", err)
		return
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		log.Warn("restarting the service after an error exit too", "err", err)
	}
}
