package letters_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/letters"
	"github.com/dienstweg/dienstweg/internal/org/letters/letterstest"
)

var musterstadt = letters.Sender{
	Organisation: "Stadt Musterstadt",
	Phone:        "0421 361-0000",
	Hours:        "Mo–Fr 7–18 Uhr",
	Email:        "it-service@musterstadt.example",
}

func TestOnePagePerEmployeeWithTheirCode(t *testing.T) {
	valid := time.Date(2026, 12, 14, 17, 0, 0, 0, time.UTC)
	ls := []letters.Letter{
		{FullName: "Jürgen Müller", User: "jmueller", Code: "K7QM-4XTZ-9PLA", ValidUntil: valid},
		{FullName: "Özlem Weiß", User: "oweiss", Code: "B2HD-R8WE-3NCU", ValidUntil: valid},
	}
	var buf bytes.Buffer
	if err := letters.Write(&buf, "de", musterstadt, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), ls); err != nil {
		t.Fatal(err)
	}
	pages := letterstest.Pages(t, buf.Bytes())
	if len(pages) != 2 {
		t.Fatalf("%d pages, want one per employee (2):\n%q", len(pages), pages)
	}
	for i, l := range ls {
		p := pages[i]
		for _, want := range []string{
			"Stadt Musterstadt", "30. November 2026", l.FullName, "Guten Tag " + l.FullName + ",",
			"Benutzername " + l.User, "Aktivierungscode " + l.Code,
			"Gültig bis 14. Dezember 2026, 17:00 Uhr",
			"Authenticator-App", "Smartphone", "QR-Code",
			"Telefon 0421 361-0000 (erreichbar Mo–Fr 7–18 Uhr)", "it-service@musterstadt.example",
		} {
			if !strings.Contains(p, want) {
				t.Errorf("page %d lacks %q:\n%s", i+1, want, p)
			}
		}
		other := ls[1-i]
		if strings.Contains(p, other.Code) || strings.Contains(p, other.User) {
			t.Errorf("page %d shows %s's code or name:\n%s", i+1, other.User, p)
		}
	}
}

func TestEnglishLetter(t *testing.T) {
	var buf bytes.Buffer
	l := letters.Letter{FullName: "Jürgen Müller", User: "jmueller", Code: "K7QM-4XTZ-9PLA", ValidUntil: time.Date(2026, 12, 14, 17, 0, 0, 0, time.UTC)}
	if err := letters.Write(&buf, "en", musterstadt, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), []letters.Letter{l}); err != nil {
		t.Fatal(err)
	}
	p := letterstest.Pages(t, buf.Bytes())[0]
	for _, want := range []string{"Your access for working from home", "Dear Jürgen Müller,", "Activation code K7QM-4XTZ-9PLA", "Valid until 14 December 2026, 17:00"} {
		if !strings.Contains(p, want) {
			t.Errorf("letter lacks %q:\n%s", want, p)
		}
	}
}

func TestRefusesWhatCannotBePrinted(t *testing.T) {
	ok := letters.Letter{User: "a", Code: "C"}
	for name, tc := range map[string]struct {
		lang string
		from letters.Sender
		ls   []letters.Letter
	}{
		"no letters":       {"de", musterstadt, nil},
		"unknown language": {"fr", musterstadt, []letters.Letter{ok}},
		"no organisation":  {"de", letters.Sender{}, []letters.Letter{ok}},
		"no code":          {"de", musterstadt, []letters.Letter{{User: "a"}}},
	} {
		var buf bytes.Buffer
		if err := letters.Write(&buf, tc.lang, tc.from, time.Now(), tc.ls); err == nil {
			t.Errorf("%s: printed anyway", name)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %d bytes of a broken document", name, buf.Len())
		}
	}
}
