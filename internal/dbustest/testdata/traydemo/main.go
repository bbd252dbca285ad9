// Command traydemo runs a real fyne.io/systray tray with a known menu for the
// tests of package dbustest. It reports on stdout, one line each:
//
//	ready                 onReady finished, the menu is built
//	clicked LABEL         a menu entry was clicked
//	ok COMMAND            a command from stdin was applied
//
// and reads commands from stdin, one per line:
//
//	title TEXT | tooltip TEXT | icon SIZE RRGGBB | quit
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"strconv"
	"strings"
	"sync"

	"fyne.io/systray"
)

// Labels the tests look for; "_Beenden" carries a dbusmenu mnemonic.
const (
	labelStart    = "Homeoffice starten"
	labelEnd      = "Homeoffice beenden"
	labelLanguage = "Sprache"
	labelGerman   = "Deutsch"
	labelEnglish  = "English"
	labelQuit     = "_Beenden"
)

var out sync.Mutex

func say(format string, args ...any) {
	out.Lock()
	defer out.Unlock()
	fmt.Printf(format+"\n", args...)
}

func main() {
	// Set before Run: onReady runs concurrently with systray exporting its
	// properties, and a change in that window is lost.
	systray.SetTitle("Dienstweg Demo")
	systray.SetTooltip("Homeoffice nicht verbunden")
	systray.SetIcon(pngIcon(32, color.NRGBA{R: 0x20, G: 0x40, B: 0x80, A: 0xff}))
	systray.Run(onReady, func() {})
}

func onReady() {
	follow(systray.AddMenuItem(labelStart, ""), labelStart)
	end := systray.AddMenuItem(labelEnd, "")
	end.Disable()
	follow(end, labelEnd)
	systray.AddSeparator()
	lang := systray.AddMenuItem(labelLanguage, "")
	follow(lang.AddSubMenuItemCheckbox(labelGerman, "", true), labelGerman)
	follow(lang.AddSubMenuItemCheckbox(labelEnglish, "", false), labelEnglish)
	follow(systray.AddMenuItem(labelQuit, ""), labelQuit)
	go commands()
	say("ready")
}

// follow reports clicks. systray drops a click when nobody is receiving on
// ClickedCh at that moment, so one goroutine per entry always waits.
func follow(item *systray.MenuItem, label string) {
	go func() {
		for range item.ClickedCh {
			say("clicked %s", label)
		}
	}()
}

func commands() {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := sc.Text()
		verb, arg, _ := strings.Cut(line, " ")
		switch verb {
		case "title":
			systray.SetTitle(arg)
		case "tooltip":
			systray.SetTooltip(arg)
		case "icon":
			var size int
			var rgb string
			if _, err := fmt.Sscanf(arg, "%d %s", &size, &rgb); err != nil {
				say("error %s: %v", line, err)
				continue
			}
			v, err := strconv.ParseUint(rgb, 16, 32)
			if err != nil {
				say("error %s: %v", line, err)
				continue
			}
			systray.SetIcon(pngIcon(size, color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}))
		case "quit":
			say("ok %s", line)
			systray.Quit()
			return
		default:
			say("error unknown command %q", line)
			continue
		}
		say("ok %s", line)
	}
	// stdin closed: the test is gone, so are we.
	systray.Quit()
}

func pngIcon(size int, c color.NRGBA) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}
