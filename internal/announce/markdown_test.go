package announce

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	t.Parallel()
	txt := func(s string) Inline { return Inline{Text: s} }
	tests := []struct {
		name string
		in   string
		want []Block
	}{
		{name: "plain_text", in: "Heute ist alles normal.",
			want: []Block{{Kind: Paragraph, Inlines: []Inline{txt("Heute ist alles normal.")}}}},
		{name: "paragraphs_and_soft_breaks", in: "Erste Zeile\nzweite Zeile\n\nNeuer Absatz",
			want: []Block{
				{Kind: Paragraph, Inlines: []Inline{txt("Erste Zeile zweite Zeile")}},
				{Kind: Paragraph, Inlines: []Inline{txt("Neuer Absatz")}},
			}},
		{name: "bold_and_italic", in: "Am **Samstag** ab *8 Uhr*.",
			want: []Block{{Kind: Paragraph, Inlines: []Inline{
				txt("Am "), {Text: "Samstag", Bold: true}, txt(" ab "), {Text: "8 Uhr", Italic: true}, txt("."),
			}}}},
		{name: "bold_inside_italic", in: "*sehr **wichtig** hier*",
			want: []Block{{Kind: Paragraph, Inlines: []Inline{
				{Text: "sehr ", Italic: true}, {Text: "wichtig", Italic: true, Bold: true}, {Text: " hier", Italic: true},
			}}}},
		{name: "bullet_list_with_continuation", in: "Betroffen:\n- E-Mail\n* Telefonie\n  auch mobil\n\nDanke.",
			want: []Block{
				{Kind: Paragraph, Inlines: []Inline{txt("Betroffen:")}},
				{Kind: List, Items: [][]Inline{{txt("E-Mail")}, {txt("Telefonie auch mobil")}}},
				{Kind: Paragraph, Inlines: []Inline{txt("Danke.")}},
			}},
		{name: "https_link", in: "Siehe [Intranet](https://intranet.musterstadt.example/it).",
			want: []Block{{Kind: Paragraph, Inlines: []Inline{
				txt("Siehe "), {Text: "Intranet", URL: "https://intranet.musterstadt.example/it"}, txt("."),
			}}}},
		{name: "javascript_link_is_text", in: "[klick](javascript:alert(1))",
			want: []Block{{Kind: Paragraph, Inlines: []Inline{txt("klick")}}}},
		{name: "file_link_is_text", in: "[datei](file:///etc/passwd)",
			want: []Block{{Kind: Paragraph, Inlines: []Inline{txt("datei")}}}},
		{name: "image_shows_alt_text_only", in: "![Logo der Stadt](https://tracker.example/pixel.png)",
			want: []Block{{Kind: Paragraph, Inlines: []Inline{txt("Logo der Stadt")}}}},
		{name: "unclosed_markers_stay_literal", in: "5 * 3 = 15 und **offen",
			want: []Block{{Kind: Paragraph, Inlines: []Inline{txt("5 * 3 = 15 und **offen")}}}},
		{name: "escaped_star", in: `\*kein Kursiv\*`,
			want: []Block{{Kind: Paragraph, Inlines: []Inline{txt("*kein Kursiv*")}}}},
		{name: "heading_becomes_paragraph", in: "## Wartung\nText",
			want: []Block{{Kind: Paragraph, Inlines: []Inline{txt("Wartung Text")}}}},
		{name: "html_stays_text", in: "<img src=x onerror=alert(1)>",
			want: []Block{{Kind: Paragraph, Inlines: []Inline{txt("<img src=x onerror=alert(1)>")}}}},
		{name: "empty", in: " \n\n ", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Parse(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestPlainText(t *testing.T) {
	t.Parallel()
	got := PlainText(Parse("**Störung** im [Netz](https://x.example)\n\n- Mail\n- Telefon"))
	want := "Störung im Netz\n• Mail\n• Telefon"
	if got != want {
		t.Errorf("PlainText = %q, want %q", got, want)
	}
}

func TestSafeURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"https", "https://intranet.example/a?b=c", true},
		{"http", "http://intranet.example/", true},
		{"mailto", "mailto:it@musterstadt.example", true},
		{"javascript", "javascript:alert(1)", false},
		{"data", "data:text/html,hi", false},
		{"file", "file:///etc/passwd", false},
		{"relative", "/etc/passwd", false},
		{"no_host", "https:///x", false},
		{"user_info", "https://user:pw@evil.example/", false},
		{"control_char", "https://a.example/\x00", false},
		{"mixed_case_scheme", "HTTPS://a.example/", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, ok := SafeURL(tt.in); ok != tt.ok {
				t.Errorf("SafeURL(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			}
		})
	}
}

// FuzzParse checks the renderer's contract on any input: no panic, valid
// UTF-8 without control characters, no empty runs, and links only to
// URLs a click may open.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "plain", "**b** *i* [l](https://a.example)", "- a\n- b\n\nc",
		"![x](https://a/b.png)", "***", "*a **b** c*", "[a](b", "\\*", "# h",
		"[x](javascript:alert(1))", "\xff\xfe", "* * *\n-\n- ", "[[a](https://x.example)](https://y.example)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		blocks := Parse(in)
		check := func(runs []Inline) {
			if len(runs) == 0 {
				t.Fatalf("Parse(%q): empty block", in)
			}
			for _, r := range runs {
				if r.Text == "" {
					t.Fatalf("Parse(%q): empty run", in)
				}
				if !utf8.ValidString(r.Text) {
					t.Fatalf("Parse(%q): invalid UTF-8 %q", in, r.Text)
				}
				if strings.ContainsAny(r.Text, "\n\r\x00\x1b") {
					t.Fatalf("Parse(%q): control character in %q", in, r.Text)
				}
				if r.URL != "" {
					u, err := url.Parse(r.URL)
					if err != nil {
						t.Fatalf("Parse(%q): bad URL %q: %v", in, r.URL, err)
					}
					if s := strings.ToLower(u.Scheme); s != "https" && s != "http" && s != "mailto" {
						t.Fatalf("Parse(%q): link to scheme %q", in, u.Scheme)
					}
				}
			}
		}
		for _, b := range blocks {
			switch b.Kind {
			case Paragraph:
				check(b.Inlines)
			case List:
				if len(b.Items) == 0 {
					t.Fatalf("Parse(%q): empty list", in)
				}
				for _, it := range b.Items {
					check(it)
				}
			default:
				t.Fatalf("Parse(%q): block kind %d", in, b.Kind)
			}
		}
		if !reflect.DeepEqual(blocks, Parse(in)) {
			t.Fatalf("Parse(%q) is not deterministic", in)
		}
	})
}
