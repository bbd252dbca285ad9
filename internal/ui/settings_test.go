package ui

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/state"
)

// sampleSettings are the person's settings as the agent sends them over
// JSON (numbers as float64); locked puts the end-of-day notice and the
// language under IT's policy.
func sampleSettings(locked bool) state.Settings {
	s := state.Settings{ManagedBy: "Stadt Musterstadt", HelpdeskText: "0800 123 456 (Mo–Fr 7–18 Uhr)", List: []state.Setting{
		{Key: policy.KeyTunnelMode, Value: "system", Source: "profile"},
		{Key: policy.KeyAutoStart, Value: false, Source: "default", Changeable: true},
		{Key: policy.KeyExpiryWarning, Value: float64(15), Source: "default", Changeable: true},
		{Key: policy.KeyLanguage, Value: "system", Source: "default", Changeable: true},
		{Key: policy.KeySafeModeOnScreenShare, Value: true, Source: "user", Changeable: true},
	}}
	if locked {
		s.List[2] = state.Setting{Key: policy.KeyExpiryWarning, Value: float64(25), Source: "policy", Locked: true}
		s.List[3] = state.Setting{Key: policy.KeyLanguage, Value: "de", Source: "policy", Locked: true}
	}
	return s
}

func TestSettingsModelFor(t *testing.T) {
	free := SettingsModelFor(sampleSettings(false))
	if free.Managed != "" {
		t.Errorf("nothing locked, but Managed = %q", free.Managed)
	}
	var keys []string
	for _, r := range free.Rows {
		keys = append(keys, r.Key)
		if r.Locked || r.LockNote != "" {
			t.Errorf("%s shown locked", r.Key)
		}
	}
	if want := []string{policy.KeyAutoStart, policy.KeyExpiryWarning, policy.KeyLanguage, policy.KeySafeModeOnScreenShare}; !slices.Equal(keys, want) {
		t.Errorf("rows %v, want the person's settings %v (not IT's tunnel mode)", keys, want)
	}
	if r := free.Rows[1]; r.Values[r.Selected] != 15 || r.Options[r.Selected] != "15 Minuten" || r.Options[0] != "Kein Hinweis" {
		t.Errorf("expiry row %+v", r)
	}

	locked := SettingsModelFor(sampleSettings(true))
	if !strings.Contains(locked.Managed, "Stadt Musterstadt") || !strings.Contains(locked.Managed, "0800 123 456") {
		t.Errorf("Managed = %q, want the organisation and the IT service", locked.Managed)
	}
	exp, lang := locked.Rows[1], locked.Rows[2]
	if !exp.Locked || exp.LockNote != "Von Ihrer IT festgelegt" || exp.Values[exp.Selected] != 25 {
		t.Errorf("locked expiry row %+v; want 25 (added to the choices) and locked", exp)
	}
	if !lang.Locked || lang.Values[lang.Selected] != "de" || lang.Options[lang.Selected] != "Deutsch" {
		t.Errorf("locked language row %+v", lang)
	}
}

func newSettingsStatus(t *testing.T, c *recordingClient, s state.Settings) *StatusWindow {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(newTheme())
	w := NewStatusWindow(a, c)
	w.async = inline
	w.Window.Resize(fyne.NewSize(560, 600))
	w.Apply(judged(state.Snapshot{Organisation: "Stadt Musterstadt", Version: "1.2.3", Session: state.NotConnected, Since: since, TrayVisible: true, Settings: s}))
	// A wrapped label knows its height only once it has a width; the
	// real driver lays out again on the next frame, the test canvas
	// when the window's size changes.
	w.Window.Resize(fyne.NewSize(560, 601))
	w.Window.Resize(fyne.NewSize(560, 600))
	return w
}

// Locked settings are greyed, say who set them and whom to ask, and a
// tap or a key on them changes nothing; the person's others change
// through the agent.
func TestSettingsLockedInWindow(t *testing.T) {
	c := &recordingClient{}
	w := newSettingsStatus(t, c, sampleSettings(true))
	test.AssertRendersToMarkup(t, "status_settings_locked.xml", w.Window.Canvas())
	p := w.settings
	expiry, lang, auto := p.selects[policy.KeyExpiryWarning], p.selects[policy.KeyLanguage], p.checks[policy.KeyAutoStart]
	if !expiry.Disabled() || !lang.Disabled() || auto.Disabled() {
		t.Fatalf("disabled: expiry %v, language %v, auto start %v; want the locked two only", expiry.Disabled(), lang.Disabled(), auto.Disabled())
	}
	if !p.lockNotes[policy.KeyExpiryWarning].Visible() || p.lockNotes[policy.KeyAutoStart].Visible() {
		t.Error("the lock note belongs under the locked settings only")
	}
	if !p.managed.Visible() || !strings.Contains(p.managedText.Text, "Verwaltet von Stadt Musterstadt. Grau dargestellte") {
		t.Errorf("managed note %q", p.managedText.Text)
	}
	test.Tap(expiry)
	test.Tap(lang)
	expiry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	for _, f := range focusables(w.Window.Canvas().Content()) {
		if f == fyne.Focusable(expiry) || f == fyne.Focusable(lang) {
			t.Error("a locked setting can take the focus")
		}
	}
	c.mu.Lock()
	if len(c.settingsSet) != 0 {
		t.Errorf("locked settings sent %v", c.settingsSet)
	}
	c.mu.Unlock()

	// The person's own: a tap sends it.
	test.Tap(auto)
	c.mu.Lock()
	got := slices.Clone(c.settingsSet)
	c.mu.Unlock()
	if !slices.Equal(got, []string{"auto_start=true"}) {
		t.Errorf("sent %v, want auto_start=true", got)
	}
}

// When the agent refuses (IT locked it meanwhile), the window says why
// and shows the value in force again.
func TestSettingsRefusedReverts(t *testing.T) {
	c := &recordingClient{settingErr: &localapi.Error{Status: http.StatusForbidden, Code: "setting_locked", Key: "settings.locked",
		Args: map[string]string{"Organisation": "Stadt Musterstadt", "Helpdesk": "0800 123 456"}}}
	w := newSettingsStatus(t, c, sampleSettings(false))
	auto := w.settings.checks[policy.KeyAutoStart]
	test.Tap(auto)
	if auto.Checked {
		t.Error("the check stayed on after the refusal")
	}
	if !w.settings.errLabel.Visible() || !strings.Contains(w.settings.errLabel.Text, "Stadt Musterstadt fest") {
		t.Errorf("error shown: %v %q", w.settings.errLabel.Visible(), w.settings.errLabel.Text)
	}
}

// Keys only: Tab reaches each setting; Space and Enter toggle a check,
// which goes to the agent; Enter opens a list.
func TestSettingsByKeyboard(t *testing.T) {
	c := &recordingClient{}
	w := newSettingsStatus(t, c, sampleSettings(false))
	k := keyboard{t, w.Window}
	k.tabTo(w.settings.checks[policy.KeyAutoStart])
	k.typeText(" ") // Space, as the driver delivers it to a check
	k.tabTo(w.settings.checks[policy.KeySafeModeOnScreenShare])
	k.press(fyne.KeyReturn)
	k.tabTo(w.settings.selects[policy.KeyExpiryWarning])
	k.press(fyne.KeyReturn)
	if w.Window.Canvas().Overlays().Top() == nil {
		t.Fatal("Enter did not open the list")
	}
	c.mu.Lock()
	got := slices.Clone(c.settingsSet)
	c.mu.Unlock()
	if want := []string{"auto_start=true", "safe_mode_on_screen_share=false"}; !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
}
