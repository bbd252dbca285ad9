package dbustest

import (
	"context"
	"image"
	"time"

	"github.com/godbus/dbus/v5"
)

const sniIface = "org.kde.StatusNotifierItem"

// pollInterval backs up signal-driven waits for peers that change a property
// without announcing it.
const pollInterval = 200 * time.Millisecond

// Item is a StatusNotifierItem as the watcher recorded it: the bus name of its
// connection and its object path. Its methods read the item over D-Bus as a
// panel would; they are safe for concurrent use.
type Item struct {
	Service string          // bus name, usually the item's unique name (":1.42")
	Path    dbus.ObjectPath // "/StatusNotifierItem" for fyne.io/systray
	conn    *dbus.Conn
}

// NewItem addresses the item at service and path over conn, for tests that
// know where the item is without a watcher.
func NewItem(conn *dbus.Conn, service string, path dbus.ObjectPath) Item {
	return Item{Service: service, Path: path, conn: conn}
}

// String is the item as RegisteredStatusNotifierItems lists it: service+path.
func (it Item) String() string { return it.Service + string(it.Path) }

// Property reads one org.kde.StatusNotifierItem property.
func (it Item) Property(ctx context.Context, name string) (dbus.Variant, error) {
	var v dbus.Variant
	err := it.conn.Object(it.Service, it.Path).CallWithContext(ctx,
		"org.freedesktop.DBus.Properties.Get", 0, sniIface, name).Store(&v)
	if err != nil {
		return dbus.Variant{}, errorf("reading %s of %s: %w", name, it, err)
	}
	return v, nil
}

func (it Item) stringProperty(ctx context.Context, name string) (string, error) {
	v, err := it.Property(ctx, name)
	if err != nil {
		return "", err
	}
	s, ok := v.Value().(string)
	if !ok {
		return "", errorf("%s of %s is %s, not a string", name, it, v.Signature())
	}
	return s, nil
}

// Title is the item's Title property.
func (it Item) Title(ctx context.Context) (string, error) { return it.stringProperty(ctx, "Title") }

// Status is the item's Status property: Passive, Active or NeedsAttention.
func (it Item) Status(ctx context.Context) (string, error) { return it.stringProperty(ctx, "Status") }

// ToolTip returns the title and the (possibly empty) body text of the item's
// ToolTip property (sa(iiay)ss: icon name, icon pixmaps, title, text).
func (it Item) ToolTip(ctx context.Context) (title, text string, err error) {
	v, err := it.Property(ctx, "ToolTip")
	if err != nil {
		return "", "", err
	}
	tt, err := decodeToolTip(v)
	if err != nil {
		return "", "", errorf("ToolTip of %s: %w", it, err)
	}
	return tt.Title, tt.Text, nil
}

// IconPixmap decodes the largest image of the item's IconPixmap property.
func (it Item) IconPixmap(ctx context.Context) (image.Image, error) {
	v, err := it.Property(ctx, "IconPixmap")
	if err != nil {
		return nil, err
	}
	img, err := decodeIconPixmap(v)
	if err != nil {
		return nil, errorf("IconPixmap of %s: %w", it, err)
	}
	return img, nil
}

// Call calls one of the item's methods as a host does: Activate(x, y) on
// a left click, SecondaryActivate(x, y) on a middle click, ContextMenu(x,
// y), Scroll(delta, orientation).
func (it Item) Call(ctx context.Context, method string, args ...any) error {
	if err := it.conn.Object(it.Service, it.Path).CallWithContext(ctx, sniIface+"."+method, 0, args...).Err; err != nil {
		return errorf("calling %s on %s: %w", method, it, err)
	}
	return nil
}

// WaitIconPixmap reads the item's icon until pred accepts it and returns
// that icon; see [Item.WaitProperty].
func (it Item) WaitIconPixmap(ctx context.Context, pred func(image.Image) bool) (image.Image, error) {
	v, err := it.WaitProperty(ctx, "IconPixmap", func(v dbus.Variant) bool {
		img, err := decodeIconPixmap(v)
		return err == nil && pred(img)
	})
	if err != nil {
		return nil, err
	}
	return decodeIconPixmap(v)
}

// MenuPath is the item's Menu property: where its com.canonical.dbusmenu lives.
func (it Item) MenuPath(ctx context.Context) (dbus.ObjectPath, error) {
	v, err := it.Property(ctx, "Menu")
	if err != nil {
		return "", err
	}
	p, ok := v.Value().(dbus.ObjectPath)
	if !ok {
		return "", errorf("Menu of %s is %s, not an object path", it, v.Signature())
	}
	return p, nil
}

// Menu returns a client for the item's menu, found through its Menu property.
func (it Item) Menu(ctx context.Context) (*Menu, error) {
	p, err := it.MenuPath(ctx)
	if err != nil {
		return nil, err
	}
	return NewMenu(it.conn, it.Service, p), nil
}

// WaitProperty reads property name until pred accepts its value and returns
// that value. It re-reads on the item's change signals (NewTitle, NewIcon,
// NewToolTip, NewStatus, PropertiesChanged) and, for items that change
// silently, every pollInterval. It fails when ctx ends, with the last value
// seen in the error.
func (it Item) WaitProperty(ctx context.Context, name string, pred func(dbus.Variant) bool) (dbus.Variant, error) {
	last, err := waitFor(ctx, it.conn, it.Service, it.Path, func(ctx context.Context) (dbus.Variant, bool, error) {
		v, err := it.Property(ctx, name)
		return v, err == nil && pred(v), err
	})
	if err != nil {
		return dbus.Variant{}, errorf("waiting for %s of %s (last %v): %w", name, it, last, err)
	}
	return last, nil
}

// waitFor calls check until it reports done, again after every signal from
// service at path and every pollInterval. Read errors are retried (the peer
// may be starting) and the last one is returned when ctx ends.
func waitFor[T any](ctx context.Context, conn *dbus.Conn, service string, path dbus.ObjectPath,
	check func(context.Context) (T, bool, error)) (T, error) {
	sigs := make(chan *dbus.Signal, 16)
	conn.Signal(sigs)
	defer conn.RemoveSignal(sigs)
	match := []dbus.MatchOption{dbus.WithMatchSender(service), dbus.WithMatchObjectPath(path)}
	if err := conn.AddMatchSignalContext(ctx, match...); err == nil {
		defer conn.RemoveMatchSignal(match...)
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()

	var last T
	var lastErr error
	for {
		v, ok, err := check(ctx)
		if ok {
			return v, nil
		}
		last, lastErr = v, err
		select {
		case <-sigs: // any signal on this conn is a cheap reason to look again
		case <-tick.C:
		case <-ctx.Done():
			if lastErr != nil {
				return last, lastErr
			}
			return last, ctx.Err()
		}
	}
}
