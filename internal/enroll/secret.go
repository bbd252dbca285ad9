package enroll

import (
	"fmt"
	"log/slog"
)

// Secret is a string that must not reach a log: it prints as [redacted]
// with fmt and slog. JSON keeps the value, because the agent hands the
// View to the wizard window over the local API; read it with Reveal.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return redacted }

// Format implements fmt.Formatter, for every verb including %s, %q, %x.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
