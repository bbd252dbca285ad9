package ui

import (
	"context"
	"slices"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/policy"
	"github.com/dienstweg/dienstweg/internal/state"
)

// SettingsClient changes the person's own settings.
type SettingsClient interface {
	SetSetting(ctx context.Context, key string, value any) error
}

// expiryChoices are the minutes offered for the end-of-day notice; a
// value IT set outside them is added where it fits.
var expiryChoices = []int{0, 5, 10, 15, 20, 30, 45, 60, 90, 120}

// SettingRow is one of the person's settings as the window shows it.
type SettingRow struct {
	Key, Label string
	Kind       policy.Kind
	// Options are the choices' labels and Values their values, for a
	// Choice or a Number; Selected is the index of the value in force.
	Options  []string
	Values   []any
	Selected int
	Checked  bool
	// Locked: IT set it; the control is greyed and LockNote says so.
	Locked   bool
	LockNote string
	// Note is shown below it (e.g. "applies from the next start").
	Note string
}

// SettingsModel is the settings section for one snapshot; a pure
// function, table-tested without a window.
type SettingsModel struct {
	// Managed names who manages the locked settings and how to reach
	// the IT service; "" while nothing is locked.
	Managed string
	Rows    []SettingRow
}

// SettingsModelFor renders the person's settings of s (policy.Setting's
// User), locked ones greyed with who locked them.
func SettingsModelFor(s state.Settings) SettingsModel {
	var m SettingsModel
	anyLocked := false
	for _, e := range s.List {
		def, ok := policy.Lookup(e.Key)
		if !ok || !def.User {
			continue
		}
		row := SettingRow{Key: e.Key, Label: L("settings." + e.Key), Kind: def.Kind, Locked: e.Locked}
		if e.Locked {
			anyLocked = true
			row.LockNote = L("settings.locked_short")
		}
		switch def.Kind {
		case policy.Bool:
			row.Checked, _ = e.Value.(bool)
		case policy.Choice:
			for _, o := range def.Choices {
				row.Options = append(row.Options, L("settings."+e.Key+"."+o.Value))
				row.Values = append(row.Values, o.Value)
				if o.Value == e.Value {
					row.Selected = len(row.Values) - 1
				}
			}
		case policy.Number:
			cur := toInt(e.Value)
			choices := expiryChoices
			if !slices.Contains(choices, cur) {
				choices = append(slices.Clone(choices), cur)
				slices.Sort(choices)
			}
			for _, n := range choices {
				if n < def.Min || n > def.Max {
					continue
				}
				label := L("settings.minutes", map[string]string{"N": strconv.Itoa(n)})
				if n == 0 {
					label = L("settings.no_notice")
				}
				row.Options = append(row.Options, label)
				row.Values = append(row.Values, n)
				if n == cur {
					row.Selected = len(row.Values) - 1
				}
			}
		}
		if e.Key == policy.KeyLanguage || e.Key == policy.KeyExpiryWarning {
			row.Note = L("settings.next_start")
		}
		m.Rows = append(m.Rows, row)
	}
	if anyLocked {
		m.Managed = L("settings.managed_note", map[string]string{"Organisation": s.ManagedBy, "Helpdesk": s.HelpdeskText})
	}
	return m
}

// toInt reads a number as JSON (float64) or Go (int) gives it.
func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	}
	return 0
}

// SettingsPanel is the status window's settings section: the person's
// settings, each changed through the agent at once; locked ones greyed
// with "Von Ihrer IT festgelegt" and who to ask.
type SettingsPanel struct {
	client      SettingsClient
	Content     *fyne.Container
	managed     *fyne.Container
	managedText *widget.Label
	errLabel    *widget.Label
	checks      map[string]*keyCheck
	selects     map[string]*keySelect
	lockNotes   map[string]*widget.Label
	model       SettingsModel
	// applying: the controls are being set from a snapshot, so their
	// change callbacks must not send it back to the agent.
	applying bool
	last     state.Settings
	async    func(func())
}

// newSettingsPanel builds one control per setting of the person's in the
// schema; Apply fills them in.
func newSettingsPanel(keys *windowKeys, c SettingsClient) *SettingsPanel {
	p := &SettingsPanel{client: c, checks: map[string]*keyCheck{}, selects: map[string]*keySelect{}, lockNotes: map[string]*widget.Label{}, async: goAsync}
	p.managedText = wrapped("")
	p.managed = noticeOf(theme.InfoIcon(), p.managedText)
	p.managed.Hide()
	p.errLabel = wrapped("")
	p.errLabel.Importance = widget.DangerImportance
	p.errLabel.Hide()
	rows := container.NewVBox()
	for _, def := range policy.Schema {
		if !def.User {
			continue
		}
		key := def.Key
		note := widget.NewLabel(L("settings.locked_short"))
		note.Importance = widget.LowImportance
		note.Hide()
		p.lockNotes[key] = note
		var control fyne.CanvasObject
		switch def.Kind {
		case policy.Bool:
			ch := keys.newCheck(L(policy.TitleKey(key)), func(on bool) { p.changed(key, on) })
			p.checks[key] = ch
			control = ch
		default:
			sel := keys.newSelect(nil, func(string) { p.selectChanged(key) })
			p.selects[key] = sel
			label := widget.NewLabel(L(policy.TitleKey(key)))
			label.Wrapping = fyne.TextWrapWord
			control = container.NewVBox(label, sel)
			if key == policy.KeyLanguage || key == policy.KeyExpiryWarning {
				hint := widget.NewLabel(L("settings.next_start"))
				hint.Importance = widget.LowImportance
				control = container.NewVBox(label, sel, hint)
			}
		}
		rows.Add(container.NewVBox(control, note))
	}
	p.Content = container.NewVBox(
		widget.NewLabelWithStyle(L("settings.title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		p.managed, rows, p.errLabel)
	p.Content.Hide() // until a snapshot lists settings
	return p
}

// Apply shows s.
func (p *SettingsPanel) Apply(s state.Settings) {
	p.last = s
	p.model = SettingsModelFor(s)
	p.applying = true
	defer func() { p.applying = false }()
	setVisible(p.Content, len(p.model.Rows) > 0)
	p.managedText.SetText(p.model.Managed)
	setVisible(p.managed, p.model.Managed != "")
	for _, row := range p.model.Rows {
		var d fyne.Disableable
		if ch, ok := p.checks[row.Key]; ok {
			ch.SetChecked(row.Checked)
			d = ch
		}
		if sel, ok := p.selects[row.Key]; ok {
			sel.Options = row.Options
			sel.SetSelectedIndex(row.Selected)
			d = sel
		}
		if d != nil {
			setEnabled(d, !row.Locked)
		}
		if n := p.lockNotes[row.Key]; n != nil {
			setVisible(n, row.Locked)
		}
	}
	// The wrapped note's height depends on its new text: lay out again.
	p.Content.Refresh()
}

func (p *SettingsPanel) selectChanged(key string) {
	sel := p.selects[key]
	for _, row := range p.model.Rows {
		if row.Key == key && sel.SelectedIndex() >= 0 && sel.SelectedIndex() < len(row.Values) {
			p.changed(key, row.Values[sel.SelectedIndex()])
		}
	}
}

// changed sends the person's change to the agent; a refusal is shown
// and the control goes back to the value in force.
func (p *SettingsPanel) changed(key string, value any) {
	if p.applying {
		return
	}
	p.errLabel.Hide()
	p.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := p.client.SetSetting(ctx, key, value)
		if err == nil {
			return // the agent's next snapshot shows it
		}
		fyne.Do(func() {
			p.errLabel.SetText(errorText(err))
			p.errLabel.Show()
			p.Apply(p.last)
		})
	})
}
