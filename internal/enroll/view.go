package enroll

import (
	"log/slog"
	"strings"

	"github.com/dienstweg/dienstweg/internal/state"
)

// Step is one screen of the wizard. The values are stable: they are
// written to the progress file and shown to the helpdesk.
type Step string

// The seven screens, each with its own helpdesk code, E1 to E7. Six of
// them are steps ("Schritt 3 von 6 · E3"); Done (E7) is the completion,
// which counts as no step of its own. Welcome is E1, as the helpdesk's
// first question is "do you see the welcome page?".
const (
	StepWelcome       Step = "welcome"       // E1
	StepSignIn        Step = "sign_in"       // E2: user name + activation code
	StepAuthenticator Step = "authenticator" // E3: clock check, then QR code + manual key
	StepConfirm       Step = "confirm"       // E4: code from the app
	StepDevice        Step = "device"        // E5: key pair, registration
	StepTest          Step = "test"          // E6: connection test
	StepDone          Step = "done"          // E7: completed, "Fertig!"
)

// TotalSteps is the "von 6" of "Schritt n von 6".
const TotalSteps = 6

var steps = []Step{StepWelcome, StepSignIn, StepAuthenticator, StepConfirm, StepDevice, StepTest, StepDone}

func (s Step) index() int {
	for i, x := range steps {
		if x == s {
			return i
		}
	}
	return -1
}

// Number is the step's number, 1 to 6.
func (s Step) Number() int { return min(s.index()+1, TotalSteps) }

// Code is the helpdesk code, "E1" to "E7": one per screen, so the helpdesk
// can tell the connection test from its completion.
func (s Step) Code() string { return "E" + string(rune('1'+s.index())) }

// Page says what the window shows at the step.
type Page string

const (
	// PageStep is the step's own screen.
	PageStep Page = "step"
	// PageClock blocks the authenticator step: the computer's clock is
	// off. View.Error says by how much; Retry checks again.
	PageClock Page = "clock"
	// PageKeyring: the keyring could not be used. View.Error says why and
	// what to do; Retry repeats what failed.
	PageKeyring Page = "keyring"
)

// Field is an input the step shows.
type Field string

// Inputs.
const (
	FieldUser           Field = "user"
	FieldActivationCode Field = "activation_code"
	FieldCode           Field = "code"
)

// Apps are common authenticator apps, named on the authenticator step.
var Apps = []string{"Microsoft Authenticator", "Google Authenticator", "FreeOTP", "Aegis Authenticator"}

// Authenticator is what the authenticator step shows.
type Authenticator struct {
	// Hidden: the QR code and key are hidden (the default whenever the
	// step is entered, for shared screens); URI and ManualKey are then
	// empty. ToggleSecret shows them.
	Hidden bool `json:"hidden"`
	// URI is the otpauth:// URI to render with QRPNG.
	URI Secret `json:"uri,omitempty"`
	// ManualKey is the secret in groups of four ("ABCD EFGH …") for
	// typing into the app.
	ManualKey Secret `json:"manual_key,omitempty"`
	// Issuer and Account as the app will show them.
	Issuer  string   `json:"issuer"`
	Account string   `json:"account"`
	Apps    []string `json:"apps"`
}

// Check is one line of the connection test.
type Check struct {
	// Name is a translation key, e.g. "enroll.test.portal".
	Name string `json:"name"`
	OK   bool   `json:"ok"`
}

// View is everything the wizard window renders, as plain data. The
// window calls the Machine's methods for the user's actions and renders
// the next View; it decides nothing itself.
type View struct {
	// Seq increases with every change.
	Seq  uint64 `json:"seq"`
	Step Step   `json:"step"`
	// Number of Total and Code make "Schritt 3 von 6 · E3".
	Number int    `json:"number"`
	Total  int    `json:"total"`
	Code   string `json:"code"`
	Page   Page   `json:"page"`
	// Title and Body are translation keys for the screen's heading and
	// text (for PageClock and PageKeyring, the page's).
	Title string `json:"title"`
	Body  string `json:"body"`
	// Fields to show, in order. On a step with fields, the window's Next
	// button calls the step's Submit method with their values.
	Fields []Field `json:"fields,omitempty"`
	// User prefills FieldUser; DisplayName greets the user once known.
	User        string `json:"user,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	// Authenticator is set on the authenticator step.
	Authenticator *Authenticator `json:"authenticator,omitempty"`
	// Checks of the connection test, once it ran.
	Checks []Check `json:"checks,omitempty"`
	// Notice explains something that is not an error, e.g. why the wizard
	// resumed where it did.
	Notice *state.Message `json:"notice,omitempty"`
	// Error says what went wrong and what to do.
	Error *state.Message `json:"error,omitempty"`
	// Warning says that the wizard's progress could not be saved (a full
	// disk, a read-only directory) and what to do. The setup goes on;
	// CanRetry offers to save again where nothing else is retried.
	Warning *state.Message `json:"warning,omitempty"`
	// Buttons that are enabled.
	CanBack    bool `json:"can_back"`
	CanNext    bool `json:"can_next"`
	CanRetry   bool `json:"can_retry"`
	CanRestart bool `json:"can_restart"`
	// CanNewSecret: the authenticator step can replace its secret
	// (NewSecret); the window asks first, as the app's entry then stops
	// working.
	CanNewSecret bool `json:"can_new_secret,omitempty"`
	// Busy: an action is running; the window disables its buttons.
	Busy bool `json:"busy"`
	// Enrolled: this computer is set up, as the keyring says; also
	// while a new setup runs after Restart (the old device stays until a
	// new one replaces it).
	Enrolled bool `json:"enrolled"`
}

// LogValue keeps secrets out of logs even with a JSON log handler, which
// would otherwise marshal the URI in full.
func (v View) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("step", string(v.Step)),
		slog.String("code", v.Code),
		slog.String("page", string(v.Page)),
		slog.Bool("busy", v.Busy),
	}
	if v.Error != nil {
		attrs = append(attrs, slog.String("error", v.Error.Key))
	}
	return slog.GroupValue(attrs...)
}

// groupKey writes a base32 secret in groups of four, as authenticator
// apps show and people type it.
func groupKey(s string) string {
	s = strings.ToUpper(strings.TrimRight(s, "="))
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// LogValue leaves out the URI and key, which a JSON log handler would
// otherwise marshal in full.
func (a Authenticator) LogValue() slog.Value {
	return slog.GroupValue(slog.Bool("hidden", a.Hidden), slog.String("issuer", a.Issuer), slog.String("account", a.Account))
}
