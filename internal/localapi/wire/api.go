package wire

import "time"

import "fmt"

// Window names the ui role knows.
const (
	WindowStatus        = "status"
	WindowWizard        = "wizard"
	WindowAnnouncements = "announcements"
	WindowSupport       = "support"
	WindowCode          = "code"
	// WindowQuit asks before quitting ends a running home-office session;
	// the tray cannot ask by itself.
	WindowQuit = "quit"
)

// Windows lists the valid window names.
func Windows() []string {
	return []string{WindowStatus, WindowWizard, WindowAnnouncements, WindowSupport, WindowCode, WindowQuit}
}

// ValidWindow reports whether name is a window of the ui role.
func ValidWindow(name string) bool {
	for _, w := range Windows() {
		if w == name {
			return true
		}
	}
	return false
}

// Event is one line of the watch stream.
type Event struct {
	// Type is "state" (State is set) or "raise" (bring the window to the
	// front) or "close" (the agent asks the window to close).
	Type  string    `json:"type"`
	State *Snapshot `json:"state,omitempty"`
}

// Event types.
const (
	EventState = "state"
	EventRaise = "raise"
	EventClose = "close"
)

// StartRequest is the body of POST /v1/session/start.
type StartRequest struct {
	Code string `json:"code"`
}

// OpenWindowRequest is the body of POST /v1/windows/open.
type OpenWindowRequest struct {
	Window string `json:"window"`
}

// MarkReadRequest is the body of POST /v1/announcements/read.
type MarkReadRequest struct {
	IDs []string `json:"ids,omitempty"`
	All bool     `json:"all,omitempty"`
}

// Wizard actions for POST /v1/enroll.
const (
	EnrollNext         = "next"
	EnrollBack         = "back"
	EnrollToggleSecret = "toggle_secret"
	EnrollSignIn       = "sign_in"
	EnrollCode         = "code"
	EnrollRetry        = "retry"
	EnrollRestart      = "restart"
	// EnrollNewSecret replaces the authenticator secret (a new QR code).
	EnrollNewSecret = "new_secret"
)

// ValidEnrollAction reports whether a is one of the wizard's actions.
func ValidEnrollAction(a string) bool {
	switch a {
	case EnrollNext, EnrollBack, EnrollToggleSecret, EnrollSignIn, EnrollCode, EnrollRetry, EnrollRestart, EnrollNewSecret:
		return true
	}
	return false
}

// EnrollAction is the body of POST /v1/enroll: one action of the setup
// wizard with its inputs.
type EnrollAction struct {
	Action         string `json:"action"`
	User           string `json:"user,omitempty"`
	ActivationCode string `json:"activation_code,omitempty"`
	Code           string `json:"code,omitempty"`
}

// Answers to "install the update now?".
const (
	UpdateNow          = "now"
	UpdateAtSessionEnd = "session_end"
)

// UpdateChoiceRequest is the body of POST /v1/update/choose.
type UpdateChoiceRequest struct {
	Choice string `json:"choice"`
}

// SafeModeRequest is the body of POST /v1/safemode.
type SafeModeRequest struct {
	On bool `json:"on"`
}

// OpenDesktopRequest is the body of POST /v1/desktop/open: the office
// desktop's name as the profile gives it (Verdict.Desktops).
type OpenDesktopRequest struct {
	Name string `json:"name"`
}

// DesktopOpened is the answer of POST /v1/desktop/open: which program
// shows the desktop, and the sentence that says so.
type DesktopOpened struct {
	// Client is "mstsc", "remmina", "xfreerdp", "wlfreerdp" or "browser".
	Client  string  `json:"client"`
	Message Message `json:"message"`
}

// ReportResult answers POST /v1/support/report: when the portal received
// the report for the IT service.
type ReportResult struct {
	SentAt time.Time `json:"sent_at"`
}

// Error is the error body of every failed call; a client returns it as
// its error, with Status taken from the response.
type Error struct {
	Status int    `json:"-"`
	Code   string `json:"code"`
	// Key is a translation key for the employee-facing text.
	Key     string            `json:"key,omitempty"`
	Args    map[string]string `json:"args,omitempty"`
	Message string            `json:"message"`
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return e.Message
}

// ErrorBody wraps Error in every failed call's JSON.
type ErrorBody struct {
	Error *Error `json:"error"`
}
