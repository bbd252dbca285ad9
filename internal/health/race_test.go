package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/dienstweg/dienstweg/internal/profile"
	"github.com/dienstweg/dienstweg/internal/state"
)

// A session that starts again while a probe of the last one is still out
// (a slow office service) must not share loop state with that probe: the
// new session's HTTP client is made while the old probe may read its own.
// Under -race this failed with newSession writing m.svcHC while a probe
// launched earlier read it.
func TestNewSessionWhileServiceProbeRuns(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		_, _ = w.Write([]byte("Akten"))
	}))
	t.Cleanup(slow.Close)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)

	e := newEnv(t, func(d *Deps, c *Config) {
		c.Services = []profile.HealthTarget{{Name: "Akten", Kind: "http", Address: slow.URL + "/"}}
	})
	ctx := context.Background()
	e.mon.SessionStarted(e.tunnel, e.gwAddr)
	n := e.mon.launch(ctx) // the service probe blocks in the server
	// The controller restarts the session (e.g. after it re-established
	// the tunnel) while that probe is out; the loop's next round begins
	// the new session.
	e.mon.SessionStarted(e.tunnel, e.gwAddr)
	n += e.mon.launch(ctx)
	<-entered
	unblock()
	for range n {
		e.mon.apply(<-e.mon.results)
	}
	if s := e.steps(3); s.Session != state.Connected {
		t.Errorf("session %v after the restart, want connected", s.Session)
	}
}

// apply runs on the loop while SessionStarted and SessionEnded run on the
// agent's goroutines: the loop must read only its own copy of whether a
// session is up.
func TestApplyWhileSessionChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 50 {
			e.mon.SessionEnded()
			e.mon.SessionStarted(e.tunnel, e.gwAddr)
		}
	}()
	internet := e.mon.probes[1]
	for range 50 {
		e.mon.apply(done{p: internet, r: fail(KeyTimeout, nil), gen: e.mon.loopGen})
	}
	wg.Wait()
}
