package office

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultEvery is how often the check runs without a network change: on
// platforms where the agent sees no route changes it is the only trigger,
// and elsewhere it catches a change the route watch missed.
const DefaultEvery = time.Minute

// Checker is what the Watcher runs; *Probe is one. Implementations must
// be safe for concurrent use and return when ctx ends.
type Checker interface {
	Check(ctx context.Context) error
}

// Watcher runs the check at start, on every Trigger (a network change, a
// wake from sleep) and every Every, and reports each outcome. A trigger
// while a check runs cancels it and starts anew: the network it was
// checking is gone. It is safe for concurrent use.
type Watcher struct {
	check  Checker
	report func(inOffice bool)
	log    *slog.Logger
	every  time.Duration
	kick   chan struct{}

	firstOnce sync.Once
	first     chan struct{}
}

// NewWatcher watches with check and hands report every outcome (report
// must not block; the agent puts it into its state, which publishes only
// changes). every 0 means DefaultEvery.
func NewWatcher(check Checker, every time.Duration, report func(inOffice bool), log *slog.Logger) *Watcher {
	if every <= 0 {
		every = DefaultEvery
	}
	if log == nil {
		log = slog.Default()
	}
	return &Watcher{check: check, report: report, log: log, every: every,
		kick: make(chan struct{}, 1), first: make(chan struct{})}
}

// Trigger makes the watcher check again now. It never blocks.
func (w *Watcher) Trigger() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Known is closed once the first check has reported, so that whoever
// decides by the office (the automatic code prompt) does not act on
// "not in the office" before anyone looked.
func (w *Watcher) Known() <-chan struct{} { return w.first }

// Run checks until ctx ends; it always returns nil (the agent's
// supervisor runs it as a component).
func (w *Watcher) Run(ctx context.Context) error {
	results := make(chan error, 1)
	var (
		cancel  context.CancelFunc = func() {}
		running bool
		wg      sync.WaitGroup
		last    *bool
	)
	defer func() { cancel(); wg.Wait() }()
	start := func() {
		cancel()
		if running {
			// The cancelled check's outcome is about a network that is
			// gone: wait for it and drop it, so results never holds two.
			<-results
		}
		var cctx context.Context
		cctx, cancel = context.WithCancel(ctx)
		running = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- w.check.Check(cctx)
		}()
	}
	ticker := time.NewTicker(w.every)
	defer ticker.Stop()
	start()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.kick:
			start()
		case <-ticker.C:
			if !running {
				start()
			}
		case err := <-results:
			running = false
			in := err == nil
			if last == nil || *last != in {
				if in {
					w.log.Info("in the office network: the office check answered")
				} else {
					w.log.Info("not in the office network", "why", err)
				}
			}
			last = &in
			w.report(in)
			w.firstOnce.Do(func() { close(w.first) })
		}
	}
}
