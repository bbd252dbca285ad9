package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/internal/backoff"
	"github.com/dienstweg/dienstweg/internal/state"
)

// component is a long-lived part of the agent. Run blocks until ctx ends
// (then its error does not count) or the component fails.
type component struct {
	name string
	run  func(ctx context.Context) error
}

// supervisor runs the agent's long-lived components and restarts one that
// fails, with backoff, so a broken poll loop does not silently stop the
// announcements or the updates until the next login.
type supervisor struct {
	log    *slog.Logger
	policy backoff.Policy
	// report records a restart for the support window; called from the
	// component's goroutine, it must not block.
	report func(state.Message)
	// sleep waits between restarts; backoff.Sleep outside tests.
	sleep func(ctx context.Context, d time.Duration) error
	wg    sync.WaitGroup
}

func newSupervisor(log *slog.Logger, report func(state.Message)) *supervisor {
	return &supervisor{
		log:    log,
		policy: backoff.Policy{Base: time.Second, Max: 5 * time.Minute, Jitter: 0.5},
		report: report,
		sleep:  backoff.Sleep,
	}
}

// start runs c in the background until ctx ends.
func (s *supervisor) start(ctx context.Context, c component) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.supervise(ctx, c)
	}()
}

// wait returns once every component has stopped.
func (s *supervisor) wait() { s.wg.Wait() }

func (s *supervisor) supervise(ctx context.Context, c component) {
	attempt := 0
	for {
		started := time.Now()
		err := runSafely(ctx, c)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = fmt.Errorf("stopped without being asked")
		}
		// A component that ran well for a while starts its backoff anew.
		if time.Since(started) > s.policy.Max {
			attempt = 0
		}
		attempt++
		wait := s.policy.Wait(attempt, 0)
		s.log.Error("component failed; restarting", "component", c.name, "attempt", attempt, "wait", wait, "err", err)
		s.report(state.Message{Key: "error.component_restarted", Args: map[string]string{"Component": c.name}})
		if s.sleep(ctx, wait) != nil {
			return
		}
	}
}

// runSafely turns a panic into an error, so one component's bug restarts
// it instead of ending the agent.
func runSafely(ctx context.Context, c component) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.run(ctx)
}
