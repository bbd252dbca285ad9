package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// windowKeys gives a window the keys a person expects from a dialog:
// Escape cancels and Enter does the main action, wherever the focus is.
//
// Fyne hands a key to the focused widget alone, and to the window only
// while nothing has focus; its entries and buttons drop Escape, and its
// buttons react to Space but not to Enter. So a window's focusable widgets
// are made here, and they pass those keys on. Use from the UI thread.
type windowKeys struct {
	// escape cancels: it closes the window unless set otherwise.
	escape func()
	// enter runs while nothing has focus; nil does nothing.
	enter  func()
	canvas fyne.Canvas
}

// newWindowKeys binds the keys to w, with Escape closing it.
func newWindowKeys(w fyne.Window) *windowKeys {
	k := &windowKeys{escape: w.Close, canvas: w.Canvas()}
	w.Canvas().SetOnTypedKey(k.typedKey)
	return k
}

// typedKey handles a key that no widget took.
func (k *windowKeys) typedKey(ev *fyne.KeyEvent) {
	// A dialog over the window owns the keys: Escape must not close the
	// window under it, nor Enter act behind it.
	if k.canvas.Overlays().Top() != nil {
		return
	}
	switch ev.Name {
	case fyne.KeyEscape:
		if k.escape != nil {
			k.escape()
		}
	case fyne.KeyReturn, fyne.KeyEnter:
		if k.enter != nil {
			k.enter()
		}
	}
}

// keyEntry is a one-line entry whose Escape cancels the window.
type keyEntry struct {
	widget.Entry
	keys *windowKeys
}

func (k *windowKeys) newEntry() *keyEntry {
	e := &keyEntry{keys: k}
	e.ExtendBaseWidget(e)
	return e
}

func (e *keyEntry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyEscape {
		e.keys.typedKey(ev)
		return
	}
	e.Entry.TypedKey(ev)
}

// keyButton is a button that Enter presses as Space does, and whose Escape
// cancels the window.
type keyButton struct {
	widget.Button
	keys *windowKeys
}

func (k *windowKeys) newButton(label string, icon fyne.Resource, tapped func()) *keyButton {
	b := &keyButton{keys: k}
	b.Text, b.Icon, b.OnTapped = label, icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

func (b *keyButton) TypedKey(ev *fyne.KeyEvent) {
	routeKey(ev, b.keys.typedKey, func() { b.Button.TypedKey(asSpace(ev)) }, b.Button.TypedKey)
}

// keyList is a list where Enter picks the highlighted row as Space does,
// and Escape cancels the window.
type keyList struct {
	widget.List
	keys *windowKeys
}

func (k *windowKeys) newList(length func() int, create func() fyne.CanvasObject, update func(widget.ListItemID, fyne.CanvasObject)) *keyList {
	l := &keyList{keys: k}
	l.Length, l.CreateItem, l.UpdateItem = length, create, update
	l.ExtendBaseWidget(l)
	return l
}

func (l *keyList) TypedKey(ev *fyne.KeyEvent) {
	routeKey(ev, l.keys.typedKey, func() { l.List.TypedKey(asSpace(ev)) }, l.List.TypedKey)
}

// dialogButton is a button in a dialog over a window: Enter presses it
// and Escape cancels the dialog, not the window under it (windowKeys
// leaves keys alone while a dialog is shown).
type dialogButton struct {
	widget.Button
	onEscape func()
}

func newDialogButton(label string, icon fyne.Resource, tapped, escape func()) *dialogButton {
	b := &dialogButton{onEscape: escape}
	b.Text, b.Icon, b.OnTapped = label, icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

// TypedKey implements fyne.Focusable.
func (b *dialogButton) TypedKey(ev *fyne.KeyEvent) {
	routeKey(ev, func(*fyne.KeyEvent) { b.onEscape() }, func() { b.Tapped(nil) }, b.Button.TypedKey)
}

// keyCheck is a check box that Enter toggles as Space does, and whose
// Escape cancels the window.
type keyCheck struct {
	widget.Check
	keys *windowKeys
}

func (k *windowKeys) newCheck(label string, changed func(bool)) *keyCheck {
	c := &keyCheck{keys: k}
	c.Text, c.OnChanged = label, changed
	c.ExtendBaseWidget(c)
	return c
}

func (c *keyCheck) TypedKey(ev *fyne.KeyEvent) {
	// Fyne's check toggles on the rune of Space, not its key.
	routeKey(ev, c.keys.typedKey, func() { c.Check.TypedRune(' ') }, c.Check.TypedKey)
}

// keySelect is a drop-down list that Enter opens as Space does, and
// whose Escape cancels the window.
type keySelect struct {
	widget.Select
	keys *windowKeys
}

func (k *windowKeys) newSelect(options []string, changed func(string)) *keySelect {
	s := &keySelect{keys: k}
	s.Options, s.OnChanged = options, changed
	s.ExtendBaseWidget(s)
	return s
}

func (s *keySelect) TypedKey(ev *fyne.KeyEvent) {
	routeKey(ev, s.keys.typedKey, func() { s.Select.TypedKey(asSpace(ev)) }, s.Select.TypedKey)
}

// routeKey is the one rule of the keyboard-aware widgets above: Escape
// goes to escape (the window or dialog), Enter and Return press as Space
// would, every other key goes to the widget's own handler.
func routeKey(ev *fyne.KeyEvent, escape func(*fyne.KeyEvent), press func(), own func(*fyne.KeyEvent)) {
	switch ev.Name {
	case fyne.KeyEscape:
		escape(ev)
	case fyne.KeyReturn, fyne.KeyEnter:
		press()
	default:
		own(ev)
	}
}

// asSpace is ev as the Space key, which Fyne's widgets act on.
func asSpace(ev *fyne.KeyEvent) *fyne.KeyEvent {
	return &fyne.KeyEvent{Name: fyne.KeySpace, Physical: ev.Physical}
}
