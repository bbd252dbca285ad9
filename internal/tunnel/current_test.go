package tunnel

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

// gVisor reports a refused connection as text; callers test it like a
// kernel socket's error.
func TestNetstackErrMapsRefusal(t *testing.T) {
	t.Parallel()
	refused := fmt.Errorf("connect tcp 10.77.0.1:53: %w", errors.New("connection was refused"))
	if err := netstackErr(refused); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("netstackErr(%v) = %v, want ECONNREFUSED", refused, err)
	}
	other := errors.New("something else")
	if err := netstackErr(other); err != other {
		t.Errorf("netstackErr changed an unrelated error: %v", err)
	}
}
