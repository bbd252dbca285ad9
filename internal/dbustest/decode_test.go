package dbustest

import (
	"image/color"
	"testing"

	"github.com/godbus/dbus/v5"
)

func TestStripMnemonic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Homeoffice starten", "Homeoffice starten"},
		{"leading_mnemonic", "_Beenden", "Beenden"},
		{"inner_mnemonic", "Hilfe _und Support", "Hilfe und Support"},
		{"escaped_underscore", "a__b", "a_b"},
		{"trailing_underscore", "x_", "x_"},
		{"umlaut_after_marker", "_Über", "Über"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := StripMnemonic(tc.in); got != tc.want {
				t.Errorf("StripMnemonic(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestDecodeIconPixmap(t *testing.T) {
	t.Parallel()
	px := func(w, h int32, argb ...byte) pixmap {
		pix := make([]byte, 0, w*h*4)
		for len(pix) < int(w*h*4) {
			pix = append(pix, argb...)
		}
		return pixmap{W: w, H: h, Pix: pix}
	}
	for _, tc := range []struct {
		name    string
		in      []pixmap
		size    int
		want    color.NRGBA
		wantErr bool
	}{
		{name: "argb_network_order", in: []pixmap{px(2, 2, 0x80, 0x10, 0x20, 0x30)}, size: 2,
			want: color.NRGBA{R: 0x10, G: 0x20, B: 0x30, A: 0x80}},
		{name: "largest_wins", in: []pixmap{px(16, 16, 0xff, 1, 1, 1), px(48, 48, 0xff, 3, 3, 3), px(32, 32, 0xff, 2, 2, 2)},
			size: 48, want: color.NRGBA{R: 3, G: 3, B: 3, A: 0xff}},
		{name: "systray_without_icon", in: []pixmap{{}}, wantErr: true},
		{name: "no_pixmaps", in: nil, wantErr: true},
		{name: "short_data", in: []pixmap{{W: 2, H: 2, Pix: make([]byte, 15)}}, wantErr: true},
		{name: "absurd_size", in: []pixmap{{W: 1 << 20, H: 1 << 20}}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Through a Variant, as it arrives from Properties.Get.
			img, err := decodeIconPixmap(dbus.MakeVariant(tc.in))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("decodeIconPixmap = %v, want an error", img.Bounds())
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeIconPixmap: %v", err)
			}
			if b := img.Bounds(); b.Dx() != tc.size || b.Dy() != tc.size {
				t.Errorf("size %v, want %d", b, tc.size)
			}
			if got := img.At(tc.size-1, tc.size-1); got != tc.want {
				t.Errorf("pixel = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDecodeLayout(t *testing.T) {
	t.Parallel()
	child := func(id int32, props map[string]dbus.Variant, kids ...dbus.Variant) dbus.Variant {
		if kids == nil {
			kids = []dbus.Variant{}
		}
		return dbus.MakeVariant(rawLayout{ID: id, Props: props, Children: kids})
	}
	raw := rawLayout{ID: 0, Props: map[string]dbus.Variant{}, Children: []dbus.Variant{
		child(1, map[string]dbus.Variant{"label": dbus.MakeVariant("_Start"), "enabled": dbus.MakeVariant(false)}),
		child(2, map[string]dbus.Variant{"type": dbus.MakeVariant("separator")}),
		child(3, map[string]dbus.Variant{"label": dbus.MakeVariant("Sprache"), "children-display": dbus.MakeVariant("submenu")},
			child(4, map[string]dbus.Variant{"label": dbus.MakeVariant("Deutsch"), "toggle-type": dbus.MakeVariant("checkmark"),
				"toggle-state": dbus.MakeVariant(int32(1))})),
	}}
	// Round-trip through the wire format so children arrive as generic structs.
	var got rawLayout
	if err := dbus.MakeVariant(raw).Store(&got); err != nil {
		t.Fatalf("Store: %v", err)
	}
	root, err := decodeLayout(got)
	if err != nil {
		t.Fatalf("decodeLayout: %v", err)
	}
	if l := root.Labels(); len(l) != 3 || l[0] != "Start" || l[2] != "Deutsch" {
		t.Errorf("Labels() = %q", l)
	}
	start, ok := root.FindByLabel("Start")
	if !ok || start.ID != 1 || start.Enabled || !start.Visible || start.ToggleState != -1 {
		t.Errorf("FindByLabel(Start) = %+v, %v; want id 1, disabled, visible, no toggle", start, ok)
	}
	if de, ok := root.FindByLabel("Deut"); !ok || de.ID != 4 || de.ToggleState != 1 {
		t.Errorf("FindByLabel(Deut) = %+v, %v; want id 4 by substring, checked", de, ok)
	}
	if _, ok := root.FindByLabel("Beenden"); ok {
		t.Error("FindByLabel(Beenden) found an entry that does not exist")
	}

	bad := rawLayout{Props: map[string]dbus.Variant{"label": dbus.MakeVariant(int32(7))}}
	if _, err := decodeLayout(bad); err == nil {
		t.Error("decodeLayout accepted a numeric label")
	}
}

func FuzzDecodeARGB32(f *testing.F) {
	f.Add(int32(1), int32(1), []byte{1, 2, 3, 4})
	f.Add(int32(0), int32(5), []byte{})
	f.Add(int32(-3), int32(2), []byte{1})
	f.Fuzz(func(t *testing.T, w, h int32, pix []byte) {
		img, err := decodeARGB32(pixmap{W: w, H: h, Pix: pix})
		if err == nil && (img.Bounds().Dx() != int(w) || img.Bounds().Dy() != int(h)) {
			t.Errorf("%dx%d decoded to %v", w, h, img.Bounds())
		}
	})
}
