package ui

import (
	"context"
	"net/url"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

// StatusModel is what the status window shows for one snapshot; a pure
// function of the snapshot, table-tested without a window.
type StatusModel struct {
	Organisation string
	StateLine    string
	Since        string
	Detail       string
	NextStep     string
	ShowStart    bool
	// StartEnabled: "Start home office" can help now; StartWizard: it
	// opens the setup wizard, because the computer is not set up.
	StartEnabled bool
	StartWizard  bool
	ShowEnd      bool
	// ShowExtend: "Extend home office" opens the code prompt before the
	// day's authorisation ends; the connection stays.
	ShowExtend bool
	NoTray     bool
	Demo       bool
	Version    string
	// TunnelTitle and TunnelBody say what home office reaches in the
	// tunnel mode it runs in, when that is not every program; empty
	// otherwise.
	TunnelTitle, TunnelBody string
}

// StatusModelFor renders s; loc is the time zone for "since". The
// headline, the next step and the buttons render the snapshot's Verdict.
func StatusModelFor(s state.Snapshot, loc *time.Location) StatusModel {
	v := s.Verdict
	m := StatusModel{
		Organisation: s.Organisation,
		StateLine:    ML(&v.Headline),
		Detail:       ML(s.Detail),
		NextStep:     ML(&v.Advice),
		ShowStart:    v.Start.Shown(),
		StartEnabled: v.Start.Enabled(),
		StartWizard:  v.Start == state.StartWizard,
		ShowEnd:      v.End,
		ShowExtend:   v.Extend,
		NoTray:       !s.TrayVisible,
		Demo:         s.Demo,
		Version:      s.Version,
	}
	if s.Health.Diagnosis != nil {
		m.Detail = ML(s.Health.Diagnosis)
	}
	if !s.Since.IsZero() {
		m.Since = L("status.since", map[string]string{"Time": s.Since.In(loc).Format("15:04")})
	}
	if s.ProfileMissing != "" {
		m.Detail = L("profile.missing.detail", map[string]string{"Path": s.ProfileMissing})
	}
	m.TunnelTitle, m.TunnelBody = tunnelNote(s.Tunnel)
	if m.Detail == m.NextStep {
		m.Detail = "" // a keyring's message is both: say it once
	}
	return m
}

// tunnelNote is what the status window says about the tunnel mode: in
// the userspace mode only programs set to use the proxy reach the office.
// (Without the helper where the profile needs it, the verdict says so.)
func tunnelNote(t state.Tunnel) (title, body string) {
	switch {
	case t.Mode == state.TunnelModeUserspace && t.Proxy != "":
		return L("status.tunnel.proxy_only.title"), L("status.tunnel.proxy_only.body", map[string]string{"Proxy": t.Proxy})
	case t.Mode == state.TunnelModeUserspace:
		return L("status.tunnel.proxy_only.title"), L("status.tunnel.proxy_only.body_no_proxy")
	}
	return "", ""
}

// StatusWindow shows the session state, live (screen S1).
type StatusWindow struct {
	app    fyne.App
	client Client
	Window fyne.Window

	org, stateLine, since, detail, next, version *widget.Label
	icon                                         *fyne.Container
	noTray, demo, lost, safe, updateAsk          *fyne.Container
	tunnel                                       *fyne.Container
	tunnelTitle, tunnelBody                      *widget.Label
	updateText                                   *widget.Label
	chain                                        *HealthChain
	settings                                     *SettingsPanel
	start, extend, end                           *keyButton
	startWizard                                  bool // the start button opens the wizard
	errLabel                                     *widget.Label
	async                                        func(func())
	keys                                         *windowKeys
	desktops                                     *desktopRow
}

// StatusSize is the window's size when it opens: the state, the next step
// and the buttons fit on a 1366×768 screen at 125 %; the chain scrolls.
var StatusSize = fyne.NewSize(560, 520)

// NewStatusWindow builds the window; it shows nothing live until Apply.
func NewStatusWindow(a fyne.App, c Client) *StatusWindow {
	w := &StatusWindow{app: a, client: c, Window: a.NewWindow(L("status.title")), async: goAsync}
	w.org = widget.NewLabel("")
	w.org.Importance = widget.LowImportance
	w.stateLine = heading("")
	w.since = widget.NewLabel("")
	w.since.Importance = widget.LowImportance
	w.detail = wrapped("")
	w.next = wrapped("")
	w.version = widget.NewLabel("")
	w.version.Importance = widget.LowImportance
	w.icon = container.NewCenter(stateIcon(state.NotConnected, isDark(a)))
	w.noTray = notice(theme.WarningIcon(), L("notray.title"), L("notray.body"))
	w.demo = notice(theme.InfoIcon(), L("status.demo"), "")
	w.lost = notice(theme.ErrorIcon(), L("status.agent_gone"), "")
	w.lost.Hide()
	w.safe = notice(theme.VisibilityOffIcon(), L("status.safe_mode"), "")
	w.tunnelTitle = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	w.tunnelTitle.Wrapping = fyne.TextWrapWord
	w.tunnelBody = wrapped("")
	w.tunnel = noticeOf(theme.WarningIcon(), container.NewVBox(w.tunnelTitle, w.tunnelBody))
	w.tunnel.Hide()
	w.updateText = wrapped("")
	keys := newWindowKeys(w.Window)
	w.keys = keys
	w.desktops = newDesktopRow()
	now := keys.newButton(L("update.choice.now"), nil, func() { w.chooseUpdate(localapi.UpdateNow) })
	later := keys.newButton(L("update.choice.session_end"), nil, func() { w.chooseUpdate(localapi.UpdateAtSessionEnd) })
	later.Importance = widget.HighImportance
	w.updateAsk = container.NewVBox(
		widget.NewLabelWithStyle(L("update.ask.title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		w.updateText, container.NewHBox(later, now))
	w.updateAsk.Hide()
	w.errLabel = wrapped("")
	w.errLabel.Importance = widget.DangerImportance
	w.errLabel.Hide()
	w.start = keys.newButton(L("action.start"), nil, w.onStart)
	w.start.Importance = widget.HighImportance
	w.extend = keys.newButton(L("status.extend"), nil, w.onExtend)
	w.extend.Importance = widget.HighImportance
	w.extend.Hide()
	w.end = keys.newButton(L("action.end"), nil, w.onEnd)
	closeBtn := keys.newButton(L("status.close"), nil, w.Window.Close)
	w.chain = NewHealthChain()
	w.chain.keys = keys
	w.chain.OnOpenLogin = func(raw string) {
		if u, err := url.Parse(raw); err == nil {
			_ = a.OpenURL(u)
		}
	}
	w.chain.Hide()
	w.settings = newSettingsPanel(keys, c)
	w.settings.async = func(f func()) { w.async(f) }

	stateRow := container.NewBorder(nil, nil, w.icon, nil, container.NewVBox(w.stateLine, w.since))
	nextCard := widget.NewCard("", L("status.next_step"), w.next)
	body := container.NewVBox(
		w.org,
		heading(L("status.heading")),
		stateRow,
		w.detail,
		nextCard,
		w.desktops.box,
		w.tunnel,
		w.chain,
		w.errLabel,
		w.lost,
		w.safe,
		w.updateAsk,
		w.settings.Content,
		w.noTray,
		w.demo,
	)
	buttons := container.NewHBox(w.start, w.extend, w.end, closeBtn)
	content := container.NewBorder(nil, buttons, nil, nil, container.NewVScroll(body))
	framed, _ := frame("S1", content)
	w.Window.SetContent(container.NewBorder(nil, nil, nil, nil, framed))
	w.Window.Resize(StatusSize)
	return w
}

// Apply shows a snapshot.
func (w *StatusWindow) Apply(s state.Snapshot) {
	m := StatusModelFor(s, time.Local)
	w.lost.Hide()
	w.org.SetText(joinNonEmpty(" · ", m.Organisation, m.Version))
	w.stateLine.SetText(m.StateLine)
	w.since.SetText(m.Since)
	w.detail.SetText(m.Detail)
	w.detail.Hidden = m.Detail == ""
	w.next.SetText(m.NextStep)
	w.icon.Objects = []fyne.CanvasObject{stateIcon(s.Verdict.Icon, isDark(w.app))}
	w.icon.Refresh()
	w.startWizard = m.StartWizard
	setVisible(w.start, m.ShowStart)
	setEnabled(w.start, m.StartEnabled)
	setVisible(w.extend, m.ShowExtend)
	setVisible(w.end, m.ShowEnd)
	w.applyDesktops(s.Verdict.Desktops)
	setVisible(w.noTray, m.NoTray)
	setVisible(w.demo, m.Demo)
	setVisible(w.safe, s.SafeMode)
	w.tunnelTitle.SetText(m.TunnelTitle)
	w.tunnelBody.SetText(m.TunnelBody)
	setVisible(w.tunnel, m.TunnelTitle != "")
	w.chain.Apply(s.Health)
	setVisible(w.chain, len(s.Health.Links) > 0)
	// While a session is up a ready update waits for the employee's word.
	ask := s.Update.State == "ready" && s.Session.Active(s.Running) && s.Update.Chosen != localapi.UpdateNow
	w.updateText.SetText(L("update.ask.body", map[string]string{"Version": s.Update.Available}))
	setVisible(w.updateAsk, ask)
	w.settings.Apply(s.Settings)
}

// AgentLost shows that the agent went away; the runner reconnects.
func (w *StatusWindow) AgentLost() { w.lost.Show() }

func setVisible(o fyne.CanvasObject, v bool) {
	if v {
		o.Show()
	} else {
		o.Hide()
	}
}

func (w *StatusWindow) onStart() {
	win := localapi.WindowCode
	if w.startWizard {
		win = localapi.WindowWizard
	}
	w.runAction(func(ctx context.Context) error { return w.client.OpenWindow(ctx, win) })
}

func setEnabled(d fyne.Disableable, on bool) {
	if on {
		d.Enable()
	} else {
		d.Disable()
	}
}

func (w *StatusWindow) chooseUpdate(choice string) {
	w.runAction(func(ctx context.Context) error { return w.client.ChooseUpdate(ctx, choice) })
}

// onExtend opens the code prompt: a code while the session runs extends
// it (the agent's session decides).
func (w *StatusWindow) onExtend() {
	w.runAction(func(ctx context.Context) error { return w.client.OpenWindow(ctx, localapi.WindowCode) })
}

func (w *StatusWindow) onEnd() {
	w.runAction(w.client.EndSession)
}

// runAction calls the agent off the UI thread and shows a failure.
func (w *StatusWindow) runAction(f func(context.Context) error) {
	w.errLabel.Hide()
	w.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := f(ctx)
		fyne.Do(func() {
			if err != nil {
				w.errLabel.SetText(errorText(err))
				w.errLabel.Show()
			}
		})
	})
}
