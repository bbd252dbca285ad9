package announce

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The announcement body is plain text or a small Markdown subset:
// paragraphs, **bold**, *italic*, bullet lists ("- " or "* ") and links
// [text](https://…). Everything else stays literal text. Images are never
// fetched: ![alt](url) shows only its alt text. Parse turns the body into a
// small model that the window renders with plain widgets, so no HTML and no
// remote content ever reaches the screen.

// BlockKind is a paragraph or a bullet list.
type BlockKind int

// The kinds of blocks.
const (
	Paragraph BlockKind = iota
	List
)

// Inline is a run of text in one style. A non-empty URL makes it a link
// whose URL opens only when the employee clicks it.
type Inline struct {
	Text   string `json:"text"`
	Bold   bool   `json:"bold,omitempty"`
	Italic bool   `json:"italic,omitempty"`
	URL    string `json:"url,omitempty"`
}

// Block is a paragraph (Inlines) or a list (Items, one run list per bullet).
type Block struct {
	Kind    BlockKind  `json:"kind"`
	Inlines []Inline   `json:"inlines,omitempty"`
	Items   [][]Inline `json:"items,omitempty"`
}

// maxMarkdown bounds the input Parse looks at; bodies are validated to be
// shorter, this only keeps the parser's cost bounded for any caller.
const maxMarkdown = 64 << 10

// Parse reads the Markdown subset. It never fails: what it does not
// understand is shown as written.
func Parse(src string) []Block {
	if len(src) > maxMarkdown {
		src = src[:maxMarkdown]
	}
	src = strings.ToValidUTF8(src, "\uFFFD")
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")

	var (
		blocks []Block
		para   []string   // lines of the open paragraph
		items  [][]string // lines of each bullet of the open list
	)
	flushPara := func() {
		if len(para) > 0 {
			if in := parseInline(strings.Join(para, " ")); len(in) > 0 {
				blocks = append(blocks, Block{Kind: Paragraph, Inlines: in})
			}
			para = nil
		}
	}
	flushList := func() {
		if len(items) > 0 {
			b := Block{Kind: List}
			for _, it := range items {
				if in := parseInline(strings.Join(it, " ")); len(in) > 0 {
					b.Items = append(b.Items, in)
				}
			}
			if len(b.Items) > 0 {
				blocks = append(blocks, b)
			}
			items = nil
		}
	}
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			flushPara()
			flushList()
		case isBullet(line):
			flushPara()
			items = append(items, []string{strings.TrimSpace(bulletText(line))})
		case len(items) > 0:
			// A line right after a bullet continues it.
			last := len(items) - 1
			items[last] = append(items[last], trimmed)
		default:
			para = append(para, stripHeading(trimmed))
		}
	}
	flushPara()
	flushList()
	return blocks
}

// isBullet reports whether line starts a bullet: up to three spaces, then
// "-", "*" or "+" and a space.
func isBullet(line string) bool {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 || len(t) < 2 {
		return false
	}
	return (t[0] == '-' || t[0] == '*' || t[0] == '+') && (t[1] == ' ' || t[1] == '\t')
}

func bulletText(line string) string { return strings.TrimLeft(line, " ")[2:] }

// stripHeading drops "# " markers; a heading shows as a normal paragraph,
// because a notice from IT has no use for sizes.
func stripHeading(s string) string {
	t := strings.TrimLeft(s, "#")
	if t != s && len(s)-len(t) <= 6 && strings.HasPrefix(t, " ") {
		return strings.TrimSpace(t)
	}
	return s
}

// maxSpan bounds how far the parser looks for a closing marker, so its
// cost stays linear in the input: no emphasis or link in a notice spans
// more than this.
const maxSpan = 1024

// window is s cut to maxSpan bytes from i.
func window(s string, i int) string {
	if len(s)-i > maxSpan {
		return s[i : i+maxSpan]
	}
	return s[i:]
}

// maxInlineDepth bounds nesting (bold inside italic inside a link text is
// more than any notice needs).
const maxInlineDepth = 3

func parseInline(s string) []Inline {
	var out []Inline
	inlineRuns(s, Inline{}, 0, &out)
	return merge(out)
}

// inlineRuns appends the runs of s in style st to out.
func inlineRuns(s string, st Inline, depth int, out *[]Inline) {
	var buf strings.Builder
	emit := func(text string, style Inline) {
		if text == "" {
			return
		}
		style.Text = text
		*out = append(*out, style)
	}
	flush := func() {
		emit(buf.String(), st)
		buf.Reset()
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]):
			buf.WriteByte(s[i+1])
			i += 2
			continue
		case c == '*' && strings.HasPrefix(s[i:], "**") && depth < maxInlineDepth && !st.Bold:
			if j := strings.Index(window(s, i+2), "**"); j > 0 && !unicode.IsSpace(rune(s[i+2])) {
				flush()
				inner := st
				inner.Bold = true
				inlineRuns(s[i+2:i+2+j], inner, depth+1, out)
				i += j + 4
				continue
			}
		case c == '*' && depth < maxInlineDepth && !st.Italic && !strings.HasPrefix(s[i:], "**"):
			if j := closingStar(s, i+1); j > i+1 && !unicode.IsSpace(rune(s[i+1])) {
				flush()
				inner := st
				inner.Italic = true
				inlineRuns(s[i+1:j], inner, depth+1, out)
				i = j + 1
				continue
			}
		case c == '!' && i+1 < len(s) && s[i+1] == '[':
			// An image: show its alt text only; never load it.
			if text, _, end, ok := linkAt(s, i+1); ok {
				buf.WriteString(plain(text))
				i = end
				continue
			}
		case c == '[' && st.URL == "":
			if text, target, end, ok := linkAt(s, i); ok {
				flush()
				if u, ok := SafeURL(target); ok {
					link := st
					link.URL = u
					inlineRuns(text, link, maxInlineDepth, out)
				} else {
					// Not a link we open: show its text, drop the target.
					inlineRuns(text, st, maxInlineDepth, out)
				}
				i = end
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		buf.WriteString(s[i : i+size])
		i += size
	}
	flush()
}

// closingStar finds the '*' that closes an italic run starting at from,
// skipping "**" pairs that belong to bold inside it; -1 if none.
func closingStar(s string, from int) int {
	for j := from; j < len(s) && j < from+maxSpan; j++ {
		switch {
		case s[j] == '\\':
			j++
		case s[j] == '*' && j+1 < len(s) && s[j+1] == '*':
			j++
		case s[j] == '*':
			return j
		}
	}
	return -1
}

// linkAt reads "[text](target)" at s[i] == '['. end is the index after it.
func linkAt(s string, i int) (text, target string, end int, ok bool) {
	close := strings.Index(window(s, i), "](")
	if close < 0 {
		return "", "", 0, false
	}
	close += i
	// The target ends at the ')' that balances its '(' (URLs may hold
	// parentheses, as Wikipedia's do).
	paren, depth := -1, 0
	for j := close + 2; j < len(s) && j < close+2+maxSpan && paren < 0; j++ {
		switch s[j] {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				paren = j
			}
			depth--
		}
	}
	if paren < 0 {
		return "", "", 0, false
	}
	text, target = s[i+1:close], strings.TrimSpace(s[close+2:paren])
	if strings.ContainsAny(target, " \t") || strings.Contains(text, "[") {
		return "", "", 0, false
	}
	return text, target, paren + 1, true
}

// plain removes the inline markers from s, for alt texts.
func plain(s string) string {
	var b strings.Builder
	for _, in := range parseInline(s) {
		b.WriteString(in.Text)
	}
	return b.String()
}

// SafeURL returns the normalised URL if a click may open it: https, http
// or mailto, absolute, without user info. Everything else (javascript:,
// file:, data:, relative paths) is refused.
func SafeURL(raw string) (string, bool) {
	if raw == "" || len(raw) > 2048 {
		return "", false
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f {
			return "", false
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "http":
		if u.Host == "" {
			return "", false
		}
	case "mailto":
		if u.Opaque == "" {
			return "", false
		}
	default:
		return "", false
	}
	return u.String(), true
}

func isASCIIPunct(c byte) bool {
	return c < 0x80 && unicode.IsPunct(rune(c)) || c == '`' || c == '^' || c == '|' || c == '~' || c == '<' || c == '>' || c == '+' || c == '='
}

// merge joins neighbouring runs of the same style and drops control
// characters, so renderers see one run per style change.
func merge(in []Inline) []Inline {
	var out []Inline
	for _, r := range in {
		r.Text = strings.Map(func(c rune) rune {
			if c == '\t' {
				return ' '
			}
			if unicode.IsControl(c) {
				return -1
			}
			return c
		}, r.Text)
		if r.Text == "" {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Bold == r.Bold && out[n-1].Italic == r.Italic && out[n-1].URL == r.URL {
			out[n-1].Text += r.Text
			continue
		}
		out = append(out, r)
	}
	return out
}

// PlainText renders blocks as text without markers, one line per
// paragraph or bullet; notifications and logs use it. Link targets are
// not shown, so a notification never carries a URL to click blindly.
func PlainText(blocks []Block) string {
	var lines []string
	for _, b := range blocks {
		switch b.Kind {
		case Paragraph:
			lines = append(lines, runsText(b.Inlines))
		case List:
			for _, it := range b.Items {
				lines = append(lines, "• "+runsText(it))
			}
		}
	}
	return strings.Join(lines, "\n")
}

func runsText(runs []Inline) string {
	var b strings.Builder
	for _, r := range runs {
		b.WriteString(r.Text)
	}
	return b.String()
}
