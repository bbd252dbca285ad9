// Command gen draws every icon into assets/icons. Run it from the repository
// root after changing package iconart:
//
//	go run ./assets/gen
//
// With -sheet it also writes a contact sheet for looking at the tray icons.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/dienstweg/dienstweg/assets/gen/iconart"
)

func main() {
	out := flag.String("out", "assets/icons", "directory to write the icons to")
	sheet := flag.String("sheet", "", "also write a contact sheet PNG to this path")
	zoom := flag.Int("zoom", 4, "contact sheet enlargement")
	badge := flag.Bool("badge", false, "show the unread badge on the contact sheet")
	var sizes []int
	flag.Func("sizes", "comma-separated tray sizes for the contact sheet (default all)", func(v string) error {
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				return err
			}
			sizes = append(sizes, n)
		}
		return nil
	})
	flag.Parse()
	if err := run(*out, *sheet, *zoom, *badge, sizes); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out, sheet string, zoom int, badge bool, sizes []int) error {
	if err := iconart.WriteAll(out); err != nil {
		return err
	}
	if sheet == "" {
		return nil
	}
	img, err := iconart.Sheet(zoom, badge, sizes)
	if err != nil {
		return err
	}
	b, err := iconart.Encode(img)
	if err != nil {
		return err
	}
	if err := os.WriteFile(sheet, b, 0o644); err != nil {
		return fmt.Errorf("writing sheet: %w", err)
	}
	return nil
}
