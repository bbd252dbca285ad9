package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/dienstweg/dienstweg/assets"
	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/enroll"
	"github.com/dienstweg/dienstweg/internal/i18n"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/situation"
	"github.com/dienstweg/dienstweg/internal/state"
	"github.com/dienstweg/dienstweg/internal/tray"
	"github.com/dienstweg/dienstweg/internal/version"
)

// RunWithoutProfile is the agent on a device where IT has not installed
// the organisation profile that was looked for at path. Without one there
// is no portal to set up with or connect to, so nothing of that starts.
// The agent runs only so that the employee learns what is wrong where
// they look: the tray, the status window (opened at start) and
// `dienstweg status` say it; every other request is refused with the same
// explanation. Of opts it uses SocketPath, UIExe, Lang, Tray, Panel, Logger,
// UIOutput and Now.
func RunWithoutProfile(ctx context.Context, path string, opts Options) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	if opts.Lang == "" {
		opts.Lang = i18n.DetectFromEnv("", "")
	}
	cat, err := i18n.Load(assets.Translations, assets.TranslationsDir, opts.Lang)
	if err != nil {
		return fmt.Errorf("loading translations: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ln, err := localapi.Listen(opts.SocketPath)
	if errors.Is(err, localapi.ErrAgentRunning) {
		return handOver(ctx, opts.SocketPath, localapi.WindowStatus)
	}
	if err != nil {
		return fmt.Errorf("starting local API: %w", err)
	}
	n := &noProfile{
		store: state.NewStore(state.Snapshot{
			Version:        version.String(),
			Language:       opts.Lang,
			Session:        state.NotConnected,
			TrayVisible:    true,
			Update:         state.Update{State: "idle"},
			ProfileMissing: path,
		}, opts.Now),
		refusal: &localapi.Error{Status: http.StatusConflict, Code: "no_profile", Key: "profile.missing.detail",
			Args: map[string]string{"Path": path}, Message: "no organisation profile installed at " + path},
		windows: newWindowClaims(time.Now, newLauncher(opts.UIExe, opts.SocketPath, opts.Lang, opts.UIOutput, opts.Logger)),
		quit:    cancel,
	}
	n.store.SetDerive(situation.Derive)
	n.api = localapi.NewServer(localapi.Backend{
		State: n, Session: n, Windows: n, Announcements: n, Updates: n, Enrollment: n, Support: n, Quit: n.quit,
	}, localapi.Config{Logger: opts.Logger})
	n.api.Serve(ln)
	defer n.api.Close()
	opts.Logger.Info("agent started without an organisation profile", "version", version.String(),
		"socket", opts.SocketPath, "profile", path)

	var wg sync.WaitGroup
	if opts.Tray {
		err := tray.WatchHost(ctx, func(present bool) {
			n.store.Update(func(s *state.Snapshot) { s.TrayVisible = present })
		})
		if err != nil {
			opts.Logger.Warn("cannot tell whether a tray is shown", "err", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tray.Run(ctx, localapi.NewClient(opts.SocketPath), tray.Options{Catalog: cat, Panel: opts.Panel, Logger: opts.Logger})
		}()
	}
	if err := n.OpenWindow(localapi.WindowStatus); err != nil {
		opts.Logger.Error("opening the status window", "err", err)
	}
	<-ctx.Done()
	opts.Logger.Info("agent stopping")
	n.windows.closeAll()
	n.api.Close()
	wg.Wait()
	n.windows.wait(3 * time.Second)
	return nil
}

// noProfile serves localapi.Backend for RunWithoutProfile: the state, the
// status window and quit; it refuses the rest.
type noProfile struct {
	store   *state.Store
	api     *localapi.Server
	windows *windowClaims
	refusal *localapi.Error
	quit    context.CancelFunc
}

func (n *noProfile) Snapshot() state.Snapshot                      { return n.store.Snapshot() }
func (n *noProfile) Subscribe() (<-chan state.Snapshot, func())    { return n.store.Subscribe() }
func (n *noProfile) StartSession(context.Context, string) error    { return n.refusal }
func (n *noProfile) EndSession(context.Context) error              { return n.refusal }
func (n *noProfile) CheckUpdate(context.Context) error             { return n.refusal }
func (n *noProfile) ChooseUpdate(context.Context, string) error    { return n.refusal }
func (n *noProfile) SetSafeMode(context.Context, bool) error       { return n.refusal }
func (n *noProfile) Diagnostics(context.Context, io.Writer) error  { return n.refusal }
func (n *noProfile) SendReport(context.Context) (time.Time, error) { return time.Time{}, n.refusal }

func (n *noProfile) MarkRead(context.Context, localapi.MarkReadRequest) error { return n.refusal }

func (n *noProfile) Announcements(context.Context) ([]announce.Item, error) {
	return nil, n.refusal
}

func (n *noProfile) Enroll(context.Context, localapi.EnrollAction) (enroll.View, error) {
	return enroll.View{}, n.refusal
}

// SubscribeEnroll has no wizard to follow: the stream ends at once.
func (n *noProfile) SubscribeEnroll() (<-chan enroll.View, func()) {
	ch := make(chan enroll.View)
	close(ch)
	return ch, func() {}
}

// OpenWindow shows the status window, the only one with something to say.
func (n *noProfile) OpenWindow(name string) error {
	if name != localapi.WindowStatus {
		return n.refusal
	}
	return n.windows.open(name)
}

func (n *noProfile) ClaimWindow(name string) (<-chan string, func(), error) {
	return n.windows.claim(name)
}
