package agent

import (
	"io"
	"sync"
	"time"
)

// syncWriter serialises writes from a child's stdout and stderr.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func waitBriefly() { time.Sleep(50 * time.Millisecond) }
