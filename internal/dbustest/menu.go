package dbustest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

const menuIface = "com.canonical.dbusmenu"

// Menu is a client for a com.canonical.dbusmenu object, as a panel uses it to
// show a tray item's menu. Its methods are safe for concurrent use.
type Menu struct {
	Service string
	Path    dbus.ObjectPath
	conn    *dbus.Conn
}

// NewMenu addresses the dbusmenu at service and path over conn.
func NewMenu(conn *dbus.Conn, service string, path dbus.ObjectPath) *Menu {
	return &Menu{Service: service, Path: path, conn: conn}
}

// MenuNode is one entry of a menu layout, with the dbusmenu defaults applied
// for properties the item leaves out. The root has ID 0 and no label.
type MenuNode struct {
	ID              int32
	Label           string // as sent, with "_" mnemonics; see StripMnemonic
	Enabled         bool
	Visible         bool
	Type            string // "standard" or "separator"
	ToggleType      string // "", "checkmark" or "radio"
	ToggleState     int    // 0 off, 1 on, -1 indeterminate or not a toggle
	ChildrenDisplay string // "submenu" when the entry opens a submenu
	Props           map[string]dbus.Variant
	Children        []MenuNode
}

// rawLayout is the dbusmenu (ia{sv}av) layout struct.
type rawLayout struct {
	ID       int32
	Props    map[string]dbus.Variant
	Children []dbus.Variant
}

// Layout reads the whole menu tree with GetLayout(0, -1, []). Submenus that
// arrive empty are fetched on their own after AboutToShow, as a panel does
// when one is opened: fyne.io/systray answers its first GetLayout with depth 1
// whatever was asked, and other items fill submenus lazily.
func (m *Menu) Layout(ctx context.Context) (MenuNode, error) {
	root, err := m.getLayout(ctx, 0)
	if err != nil {
		return MenuNode{}, err
	}
	if err := m.fillSubmenus(ctx, &root); err != nil {
		return MenuNode{}, err
	}
	return root, nil
}

func (m *Menu) getLayout(ctx context.Context, parent int32) (MenuNode, error) {
	var rev uint32
	var raw rawLayout
	err := m.conn.Object(m.Service, m.Path).CallWithContext(ctx, menuIface+".GetLayout", 0,
		parent, int32(-1), []string{}).Store(&rev, &raw)
	if err != nil {
		return MenuNode{}, errorf("GetLayout(%d) of %s%s: %w", parent, m.Service, m.Path, err)
	}
	n, err := decodeLayout(raw)
	if err != nil {
		return MenuNode{}, errorf("GetLayout(%d) of %s%s: %w", parent, m.Service, m.Path, err)
	}
	return n, nil
}

func (m *Menu) fillSubmenus(ctx context.Context, n *MenuNode) error {
	if n.ID != 0 && n.ChildrenDisplay == "submenu" && len(n.Children) == 0 {
		// AboutToShow may fail on items that do not implement it; the layout decides.
		_ = m.conn.Object(m.Service, m.Path).CallWithContext(ctx, menuIface+".AboutToShow", 0, n.ID).Err
		sub, err := m.getLayout(ctx, n.ID)
		if err != nil {
			return err
		}
		n.Children = sub.Children
	}
	for i := range n.Children {
		if err := m.fillSubmenus(ctx, &n.Children[i]); err != nil {
			return err
		}
	}
	return nil
}

func decodeLayout(raw rawLayout) (MenuNode, error) {
	n := MenuNode{
		ID: raw.ID, Enabled: true, Visible: true, Type: "standard", ToggleState: -1,
		Props: raw.Props,
	}
	if n.Props == nil {
		n.Props = map[string]dbus.Variant{}
	}
	var err error
	str := func(key string, dst *string) {
		if v, ok := n.Props[key]; ok && err == nil {
			if s, ok := v.Value().(string); ok {
				*dst = s
			} else {
				err = fmt.Errorf("item %d: %s is %s, not a string", raw.ID, key, v.Signature())
			}
		}
	}
	boolean := func(key string, dst *bool) {
		if v, ok := n.Props[key]; ok && err == nil {
			if b, ok := v.Value().(bool); ok {
				*dst = b
			} else {
				err = fmt.Errorf("item %d: %s is %s, not a boolean", raw.ID, key, v.Signature())
			}
		}
	}
	str("label", &n.Label)
	str("type", &n.Type)
	str("toggle-type", &n.ToggleType)
	str("children-display", &n.ChildrenDisplay)
	boolean("enabled", &n.Enabled)
	boolean("visible", &n.Visible)
	if v, ok := n.Props["toggle-state"]; ok && err == nil {
		// The spec says int32; be lenient about the integer width peers pick.
		switch x := v.Value().(type) {
		case int32:
			n.ToggleState = int(x)
		case int64:
			n.ToggleState = int(x)
		case int16:
			n.ToggleState = int(x)
		case uint32:
			n.ToggleState = int(x)
		default:
			err = fmt.Errorf("item %d: toggle-state is %s, not an integer", raw.ID, v.Signature())
		}
	}
	if err != nil {
		return MenuNode{}, err
	}
	for _, cv := range raw.Children {
		var c rawLayout
		if err := cv.Store(&c); err != nil {
			return MenuNode{}, fmt.Errorf("item %d: child of type %s: %w", raw.ID, cv.Signature(), err)
		}
		child, err := decodeLayout(c)
		if err != nil {
			return MenuNode{}, err
		}
		n.Children = append(n.Children, child)
	}
	return n, nil
}

// Click sends Event(id, "clicked", <"">, now), as a panel does when the user
// picks the entry.
func (m *Menu) Click(ctx context.Context, id int32) error {
	err := m.conn.Object(m.Service, m.Path).CallWithContext(ctx, menuIface+".Event", 0,
		id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())).Err
	if err != nil {
		return errorf("clicking item %d of %s%s: %w", id, m.Service, m.Path, err)
	}
	return nil
}

// WaitLayout reads the layout until pred accepts it, again after every
// LayoutUpdated or ItemsPropertiesUpdated signal and every pollInterval.
func (m *Menu) WaitLayout(ctx context.Context, pred func(MenuNode) bool) (MenuNode, error) {
	last, err := waitFor(ctx, m.conn, m.Service, m.Path, func(ctx context.Context) (MenuNode, bool, error) {
		n, err := m.Layout(ctx)
		return n, err == nil && pred(n), err
	})
	if err != nil {
		return MenuNode{}, errorf("waiting for the menu of %s%s (last labels %q): %w", m.Service, m.Path, last.Labels(), err)
	}
	return last, nil
}

// FindByLabel searches the tree depth-first for an entry whose label, with or
// without its "_" mnemonics, equals label; failing that, for the first one
// that contains it.
func (n MenuNode) FindByLabel(label string) (MenuNode, bool) {
	if f, ok := n.find(func(l string) bool { return l == label || StripMnemonic(l) == label }); ok {
		return f, true
	}
	return n.find(func(l string) bool {
		return strings.Contains(l, label) || strings.Contains(StripMnemonic(l), label)
	})
}

func (n MenuNode) find(match func(string) bool) (MenuNode, bool) {
	for _, c := range n.Children {
		if c.Type != "separator" && match(c.Label) {
			return c, true
		}
		if f, ok := c.find(match); ok {
			return f, true
		}
	}
	return MenuNode{}, false
}

// Labels lists the labels below n depth-first with mnemonics stripped,
// skipping separators, for readable assertions and failure messages.
func (n MenuNode) Labels() []string {
	var out []string
	for _, c := range n.Children {
		if c.Type != "separator" {
			out = append(out, StripMnemonic(c.Label))
		}
		out = append(out, c.Labels()...)
	}
	return out
}
