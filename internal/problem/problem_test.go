package problem

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorChain(t *testing.T) {
	t.Parallel()
	cause := errors.New("portal said no")
	err := fmt.Errorf("starting session: %w", New(Denied, "portal.error.wrong_code_attempts", cause, "Attempts", "2"))
	e, ok := As(err)
	if !ok {
		t.Fatalf("As(%v) found no *Error", err)
	}
	if e.Kind != Denied || e.Msg.Key != "portal.error.wrong_code_attempts" || e.Msg.Args["Attempts"] != "2" {
		t.Errorf("As = %+v", e)
	}
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(err, cause) = false; the cause must stay in the chain")
	}
	if got, want := e.Error(), "portal.error.wrong_code_attempts: portal said no"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if _, ok := As(errors.New("plain")); ok {
		t.Errorf("As(plain error) = true")
	}
}

func TestKindNames(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for k := Internal; k <= NotSetUp; k++ {
		n := k.String()
		if seen[n] {
			t.Errorf("kind %d repeats name %q", k, n)
		}
		seen[n] = true
	}
	if Kind(99).String() != "internal" {
		t.Errorf("unknown kind = %q, want internal", Kind(99).String())
	}
}
