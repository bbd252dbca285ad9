package localapi

import (
	"context"
	"io"
	"time"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/state"
)

// Backend is what the local API serves, one part per responsibility. The
// parts are declared here because the API is their consumer; the agent
// provides all of them. A nil part answers its routes with 501
// not_supported, so a test gives only the parts it exercises.
// Implementations must be safe for concurrent use: every request runs on
// its own goroutine.
type Backend struct {
	State         State
	Session       Session
	Windows       WindowOwner
	Announcements Announcements
	Updates       Updates
	Enrollment    Enrollment
	Support       Support
	Desktops      Desktops
	Settings      Settings
	// Quit ends the agent; it is called after the answer is on its way.
	Quit func()
}

// State is the snapshot the tray, the windows and the command line show.
type State interface {
	Snapshot() state.Snapshot
	// Subscribe follows state.Store.Subscribe: the channel holds the
	// current snapshot at once and then always the newest.
	Subscribe() (<-chan state.Snapshot, func())
}

// Session starts and ends the home-office session.
type Session interface {
	StartSession(ctx context.Context, code string) error
	EndSession(ctx context.Context) error
}

// WindowOwner decides which ui process shows which window.
type WindowOwner interface {
	// OpenWindow raises the window, or starts a ui process to show it.
	OpenWindow(name string) error
	// ClaimWindow gives a ui process window name until it calls release;
	// control carries the window's events (raise, close). If another
	// process holds the window, that one is raised and the error is a
	// problem.Conflict.
	ClaimWindow(name string) (control <-chan string, release func(), err error)
}

// Announcements are IT's messages for the window.
type Announcements interface {
	Announcements(ctx context.Context) ([]announce.Item, error)
	MarkRead(ctx context.Context, req MarkReadRequest) error
}

// Updates checks for and installs new versions.
type Updates interface {
	CheckUpdate(ctx context.Context) error
	// ChooseUpdate answers "install now or at the end of the session?".
	ChooseUpdate(ctx context.Context, choice string) error
}

// Enrollment is the setup wizard.
type Enrollment interface {
	// Enroll performs a wizard action ("" just reads) and returns the
	// wizard's view afterwards.
	Enroll(ctx context.Context, act EnrollAction) (enroll.View, error)
	// SubscribeEnroll streams the wizard's views like State.Subscribe.
	SubscribeEnroll() (<-chan enroll.View, func())
}

// Support is what helps the helpdesk: the diagnostics bundle, the report
// to the IT service and the safe mode for sharing the screen with them.
type Support interface {
	// Diagnostics writes the redacted diagnostics zip to w.
	Diagnostics(ctx context.Context, w io.Writer) error
	// SendReport sends this device's state to the portal for the IT
	// service and returns when the portal received it.
	SendReport(ctx context.Context) (time.Time, error)
	SetSafeMode(ctx context.Context, on bool) error
}

// Desktops opens the office desktops of issue 20 with the system's own
// client, as the employee.
type Desktops interface {
	// OpenDesktop starts the client for the desktop named name and
	// returns which one; it does not wait for the client to end.
	OpenDesktop(ctx context.Context, name string) (DesktopOpened, error)
}

// Settings are the person's settings. Reading them is part of State
// (Snapshot.Settings); changing one refuses what IT locked.
type Settings interface {
	// SetSetting sets one of the person's settings; a nil value removes
	// their choice. A locked setting gives a problem.Forbidden with code
	// "setting_locked", one only IT sets "setting_it_only".
	SetSetting(ctx context.Context, key string, value any) error
}
