package health

import (
	"sync"

	"github.com/dienstweg/dienstweg/internal/state"
)

// Verdict is what the chain says about a running session. The monitor
// only observes: the session's supervisor reads GatewayLost to decide on
// reconnecting, and the agent projects Session onto the state it shows.
type Verdict struct {
	// Active: a session's tunnel is being checked.
	Active bool
	// Decided: a failure is confirmed or the gateway answered in this
	// session; before, Session means nothing.
	Decided bool
	// Session is what the chain implies for a working tunnel: Connected,
	// Limited, No internet or Problem.
	Session state.Session
	// GatewayLost: the gateway stopped answering through the tunnel
	// (confirmed by FailAfter probes) while the laptop's own connection
	// works; behind a captive portal or offline a fresh handshake is
	// pointless, and the diagnosis names the host-side link instead.
	GatewayLost bool
}

// verdictOf turns the judged chain into its Verdict. Owned by the loop.
func (m *Monitor) verdictOf(v verdict, active bool) Verdict {
	if !active {
		return Verdict{}
	}
	return Verdict{Active: true, Decided: v.decided, Session: v.session,
		GatewayLost: v.first != nil && v.first.check.Code == Gateway}
}

// Verdict returns the newest verdict.
func (m *Monitor) Verdict() Verdict {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.verdict
}

// SubscribeVerdict returns a one-slot mailbox (state.Offer) that holds the
// current verdict at once and then the newest whenever it changes, and a
// cancel function. The channel is never closed.
func (m *Monitor) SubscribeVerdict() (<-chan Verdict, func()) {
	ch := make(chan Verdict, 1)
	m.mu.Lock()
	ch <- m.verdict
	m.verdictSub[ch] = struct{}{}
	m.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			m.mu.Lock()
			delete(m.verdictSub, ch)
			m.mu.Unlock()
		})
	}
}

func (m *Monitor) setVerdict(v Verdict) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v == m.verdict {
		return
	}
	m.verdict = v
	for ch := range m.verdictSub {
		state.Offer(ch, v)
	}
}
