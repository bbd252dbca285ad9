//go:build linux || freebsd || openbsd || netbsd

package systray

import (
	"sync"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// Dienstweg patch: itemProps serves org.freedesktop.DBus.Properties for
// the item in place of godbus's prop.Properties. Its Get hands the stored
// value to the reply encoder without copying, and its Set writes the next
// value into that same storage when the lengths allow: a host reading
// IconPixmap while SetIcon ran read a half-written pixmap (go test -race
// reports it). Here the slice of pixmaps is copied under pixmapMu, which
// SetIcon holds for writing, so every reply owns what it encodes.
type itemProps struct{ p *prop.Properties }

// pixmapMu orders SetIcon's writes against itemProps' copies.
var pixmapMu sync.RWMutex

func (s itemProps) Get(iface, property string) (dbus.Variant, *dbus.Error) {
	pixmapMu.RLock()
	defer pixmapMu.RUnlock()
	v, err := s.p.Get(iface, property)
	if err != nil {
		return v, err
	}
	return detach(v), nil
}

func (s itemProps) GetAll(iface string) (map[string]dbus.Variant, *dbus.Error) {
	pixmapMu.RLock()
	defer pixmapMu.RUnlock()
	all, err := s.p.GetAll(iface)
	if err != nil {
		return all, err
	}
	out := make(map[string]dbus.Variant, len(all))
	for k, v := range all {
		out[k] = detach(v)
	}
	return out, nil
}

func (s itemProps) Set(iface, property string, v dbus.Variant) *dbus.Error {
	pixmapMu.Lock()
	defer pixmapMu.Unlock()
	return s.p.Set(iface, property, v)
}

// detach copies a slice of pixmaps, the only stored value whose storage a
// later Set reuses (the pixels themselves are never written after
// argbForImage made them).
func detach(v dbus.Variant) dbus.Variant {
	if px, ok := v.Value().([]PX); ok {
		return dbus.MakeVariant(append([]PX(nil), px...))
	}
	return v
}
