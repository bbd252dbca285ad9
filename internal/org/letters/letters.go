// Package letters prints the activation letters IT hands out with the
// laptops: one page per employee with the user name, the activation code
// and the few steps of the first day, in words a clerk understands. The
// whole setup wizard starts from this page.
package letters

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/signintech/gopdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
)

// Letter is what one employee's page says.
type Letter struct {
	// FullName is how the letter addresses the employee.
	FullName string
	User     string
	// Code is the activation code in clear; it exists only in memory and
	// on the printed page.
	Code       string
	ValidUntil time.Time
}

// Sender is the organisation that writes, and whom to call.
type Sender struct {
	// Organisation is the display name, e.g. "Stadt Musterstadt".
	Organisation string
	Phone        string
	Hours        string
	Email        string
}

// Page geometry in millimetres (A4, DIN 5008-like margins).
const (
	pageW, pageH = 210.0, 297.0
	left, right  = 25.0, 20.0
	textW        = pageW - left - right
)

// Font families: Go's own fonts are embedded in the binary, carry every
// German letter and need nothing installed on the portal's server.
const (
	sans = "go"
	mono = "gomono"
)

// Write prints one page per letter, in lang ("de" or "en"), into w. The
// document's date is printed, so that a letter found later tells when it
// was issued.
func Write(w io.Writer, lang string, from Sender, date time.Time, ls []Letter) error {
	if len(ls) == 0 {
		return errors.New("no letters to print")
	}
	t, ok := texts[lang]
	if !ok {
		return fmt.Errorf("no letter text for language %q (de or en)", lang)
	}
	if strings.TrimSpace(from.Organisation) == "" {
		return errors.New("the letters need the organisation's name")
	}
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4, Unit: gopdf.UnitMM})
	pdf.SetInfo(gopdf.PdfInfo{Title: t.subject, Author: from.Organisation, Creator: "dienstweg-portal", CreationDate: date})
	for _, f := range []struct {
		family string
		style  int
		data   []byte
	}{{sans, gopdf.Regular, goregular.TTF}, {sans, gopdf.Bold, gobold.TTF}, {mono, gopdf.Regular, gomono.TTF}} {
		if err := pdf.AddTTFFontDataWithOption(f.family, f.data, gopdf.TtfOption{Style: f.style}); err != nil {
			return fmt.Errorf("loading font %s: %w", f.family, err)
		}
	}
	for i, l := range ls {
		if l.User == "" || l.Code == "" {
			return fmt.Errorf("letter %d has no user name or no code", i+1)
		}
		p := page{pdf: pdf, t: t}
		if err := p.write(from, date, l); err != nil {
			return fmt.Errorf("letter for %s: %w", l.User, err)
		}
	}
	if err := pdf.Write(w); err != nil {
		return fmt.Errorf("writing the letters: %w", err)
	}
	return nil
}

// page lays out one letter top to bottom; the first error sticks.
type page struct {
	pdf *gopdf.GoPdf
	t   text
	err error
}

func (p *page) write(from Sender, date time.Time, l Letter) error {
	p.pdf.AddPage()
	p.pdf.SetY(20)

	p.font(sans, "B", 15)
	p.line(from.Organisation, 7)
	p.font(sans, "", 10)
	p.line(p.t.senderLine, 5)
	p.pdf.SetY(20)
	p.rightAligned(p.t.date(date), 7)

	p.pdf.SetY(50)
	p.font(sans, "", 11)
	name := l.FullName
	if strings.TrimSpace(name) == "" {
		name = l.User
	}
	p.line(name, 6)

	p.pdf.SetY(72)
	p.font(sans, "B", 13)
	p.line(p.t.subject, 9)
	p.font(sans, "", 11)
	p.paragraph(fmt.Sprintf(p.t.greeting, name), 3)
	p.paragraph(p.t.intro, 4)

	p.credentials(l)

	p.font(sans, "B", 11)
	p.line(p.t.needTitle, 6)
	p.font(sans, "", 11)
	for _, s := range p.t.need {
		p.item("•", s)
	}
	p.pdf.Br(3)

	p.font(sans, "B", 11)
	p.line(p.t.stepsTitle, 6)
	p.font(sans, "", 11)
	for i, s := range p.t.steps {
		p.item(fmt.Sprintf("%d.", i+1), s)
	}
	p.pdf.Br(3)

	p.font(sans, "B", 11)
	p.line(p.t.helpTitle, 6)
	p.font(sans, "", 11)
	p.paragraph(p.t.help(from), 3)

	p.font(sans, "", 9)
	p.pdf.SetY(pageH - 32)
	p.paragraph(fmt.Sprintf(p.t.keepSafe, p.t.date(l.ValidUntil)), 0)
	return p.err
}

// credentials is the framed box with what the wizard asks for first.
func (p *page) credentials(l Letter) {
	top := p.pdf.GetY() + 1
	const boxH = 36.0
	p.pdf.SetLineWidth(0.4)
	p.pdf.RectFromUpperLeftWithStyle(left, top, textW, boxH, "D")
	p.pdf.SetY(top + 5)
	p.field(p.t.userLabel, sans, l.User, 13)
	p.field(p.t.codeLabel, mono, l.Code, 15)
	p.field(p.t.validLabel, sans, p.t.dateTime(l.ValidUntil), 11)
	p.pdf.SetY(top + boxH + 6)
}

func (p *page) field(label, family, value string, size float64) {
	y := p.pdf.GetY()
	p.font(sans, "", 10)
	p.pdf.SetXY(left+5, y+1)
	p.cell(label)
	style := "B"
	if family == mono {
		style = "" // Go Mono is clear enough; only its regular face is loaded
	}
	p.font(family, style, size)
	p.pdf.SetXY(left+55, y)
	p.cell(value)
	p.pdf.SetY(y + 10)
}

// item is a list entry with a hanging indent.
func (p *page) item(mark, s string) {
	y := p.pdf.GetY()
	p.pdf.SetXY(left+2, y)
	p.cell(mark)
	p.pdf.SetY(y)
	p.wrapped(s, left+9, textW-9)
	p.pdf.Br(1)
}

func (p *page) paragraph(s string, after float64) {
	p.wrapped(s, left, textW)
	p.pdf.Br(after)
}

func (p *page) wrapped(s string, x, w float64) {
	if p.err != nil {
		return
	}
	lines, err := p.pdf.SplitTextWithWordWrap(s, w)
	if err != nil {
		p.err = fmt.Errorf("wrapping %q: %w", s, err)
		return
	}
	for _, l := range lines {
		p.pdf.SetX(x)
		p.cell(l)
		p.pdf.Br(5.2)
	}
}

func (p *page) line(s string, height float64) {
	p.pdf.SetX(left)
	p.cell(s)
	p.pdf.Br(height)
}

func (p *page) rightAligned(s string, height float64) {
	if p.err != nil {
		return
	}
	w, err := p.pdf.MeasureTextWidth(s)
	if err != nil {
		p.err = err
		return
	}
	p.pdf.SetX(pageW - right - w)
	p.cell(s)
	p.pdf.Br(height)
}

func (p *page) cell(s string) {
	if p.err == nil {
		p.err = p.pdf.Cell(nil, s)
	}
}

func (p *page) font(family, style string, size float64) {
	if p.err == nil {
		p.err = p.pdf.SetFont(family, style, size)
	}
}
