package health

import (
	"time"

	"github.com/dienstweg/dienstweg/internal/state"
)

// HistoryWindow is how far back the latency sparkline reaches.
const HistoryWindow = 15 * time.Minute

// historyStep is the least time between two recorded samples, so a
// failing service rechecked every few seconds does not crowd out the
// window; a change of OK is always recorded.
const historyStep = 10 * time.Second

// historyCap holds a full window at historyStep plus changes in between.
const historyCap = int(HistoryWindow/historyStep) + 30

// history is a ring buffer of samples of one office service. It is owned
// by the monitor's goroutine.
type history struct {
	buf  [historyCap]state.Sample
	next int // where the next sample goes
	n    int // how many are held
}

// add records s unless the previous one is younger than historyStep and
// agrees on OK. It reports whether s was recorded.
func (h *history) add(s state.Sample) bool {
	if h.n > 0 {
		last := h.buf[(h.next+historyCap-1)%historyCap]
		if last.OK == s.OK && s.At.Sub(last.At) < historyStep {
			return false
		}
	}
	h.buf[h.next] = s
	h.next = (h.next + 1) % historyCap
	if h.n < historyCap {
		h.n++
	}
	return true
}

// since returns the samples younger than HistoryWindow at now, oldest
// first, as a fresh slice.
func (h *history) since(now time.Time) []state.Sample {
	out := make([]state.Sample, 0, h.n)
	start := (h.next + historyCap - h.n) % historyCap
	for i := range h.n {
		s := h.buf[(start+i)%historyCap]
		if now.Sub(s.At) <= HistoryWindow {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
