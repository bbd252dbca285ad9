package ui

import (
	"context"
	"net/url"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/dienstweg/dienstweg/internal/announce"
	"github.com/dienstweg/dienstweg/internal/localapi"
	"github.com/dienstweg/dienstweg/internal/state"
)

// AnnouncementsClient is the part of the local API the announcements
// window uses; declared here, at its consumer. *localapi.Client implements
// it once it has GET /v1/announcements. Safe for concurrent use.
type AnnouncementsClient interface {
	// Announcements lists what is visible now in the agent's language,
	// newest first.
	Announcements(ctx context.Context) ([]announce.Item, error)
	MarkRead(ctx context.Context, req localapi.MarkReadRequest) error
}

// AnnouncementsWindow lists IT's announcements with a detail pane
// (screen A1).
type AnnouncementsWindow struct {
	app    fyne.App
	client AnnouncementsClient
	Window fyne.Window

	list    *keyList
	items   []announce.Item
	current string // id shown in the detail pane

	empty, hint, errLabel  *widget.Label
	detail                 *fyne.Container
	detailTitle            *widget.Label
	detailMeta, detailLang *widget.Label
	detailBody             *widget.RichText
	markAll                *keyButton
	lost                   *fyne.Container
	right                  *container.Scroll

	lang     string
	last     state.Announcements
	haveLast bool

	// async runs calls to the agent off the UI thread; tests run them
	// inline, because Fyne's test driver has no separate UI thread.
	async func(func())
	// openURL opens a link the employee clicked; tests record it.
	openURL func(*url.URL) error
}

// NewAnnouncementsWindow builds the window; it loads the list on the
// first Apply.
func NewAnnouncementsWindow(a fyne.App, c AnnouncementsClient) *AnnouncementsWindow {
	w := &AnnouncementsWindow{app: a, client: c, Window: a.NewWindow(L("announce.title")), async: goAsync, openURL: a.OpenURL}
	keys := newWindowKeys(w.Window)
	w.list = keys.newList(w.length, newAnnouncementRow, w.updateRow)
	w.list.OnSelected = w.selected

	w.empty = wrapped(L("announce.empty"))
	w.empty.Hide()
	w.hint = wrapped(L("announce.select"))
	w.hint.Importance = widget.LowImportance
	w.errLabel = wrapped("")
	w.errLabel.Importance = widget.DangerImportance
	w.errLabel.Hide()
	w.lost = notice(theme.ErrorIcon(), L("status.agent_gone"), "")
	w.lost.Hide()

	w.detailTitle = heading("")
	w.detailMeta = widget.NewLabel("")
	w.detailMeta.Importance = widget.LowImportance
	w.detailMeta.Wrapping = fyne.TextWrapWord
	w.detailLang = wrapped("")
	w.detailLang.Importance = widget.LowImportance
	w.detailLang.Hide()
	w.detailBody = widget.NewRichText()
	w.detailBody.Wrapping = fyne.TextWrapWord
	w.detail = container.NewVBox(w.detailTitle, w.detailMeta, w.detailLang, w.detailBody)
	w.detail.Hide()

	w.markAll = keys.newButton(L("announce.mark_all"), nil, w.MarkAllRead)
	w.markAll.Disable()
	closeBtn := keys.newButton(L("announce.close"), nil, w.Window.Close)

	left := container.NewBorder(nil, w.empty, nil, nil, w.list)
	w.right = container.NewVScroll(container.NewVBox(w.hint, w.detail))
	split := container.NewHSplit(left, w.right)
	split.Offset = 0.45
	top := container.NewVBox(heading(L("announce.heading")), w.lost, w.errLabel)
	buttons := container.NewHBox(w.markAll, closeBtn)
	framed, _ := frame("A1", container.NewBorder(top, buttons, nil, nil, split))
	w.Window.SetContent(framed)
	w.Window.Resize(fyne.NewSize(860, 540))
	return w
}

// Apply reloads the list when the unread counts changed, which is how the
// agent says that announcements arrived, expired or were read elsewhere.
func (w *AnnouncementsWindow) Apply(s state.Snapshot) {
	w.lost.Hide()
	w.lang = s.Language
	if w.haveLast && s.Announce == w.last {
		return
	}
	w.last, w.haveLast = s.Announce, true
	w.Reload()
}

// AgentLost shows that the agent went away; the list stays readable.
func (w *AnnouncementsWindow) AgentLost() { w.lost.Show() }

// Reload fetches the list from the agent.
func (w *AnnouncementsWindow) Reload() {
	w.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		items, err := w.client.Announcements(ctx)
		fyne.Do(func() {
			if err != nil {
				w.showError(L("announce.load_failed"))
				return
			}
			w.errLabel.Hide()
			w.setItems(items)
		})
	})
}

func (w *AnnouncementsWindow) setItems(items []announce.Item) {
	w.items = items
	unread := false
	for _, it := range items {
		unread = unread || !it.Read
	}
	setVisible(w.empty, len(items) == 0)
	if unread {
		w.markAll.Enable()
	} else {
		w.markAll.Disable()
	}
	w.list.Refresh()
	// Keep the open announcement open; if it is gone, say so by showing
	// the hint again rather than a stale text.
	for i, it := range items {
		if it.ID == w.current {
			w.list.Select(i)
			w.showDetail(it)
			return
		}
	}
	w.current = ""
	w.list.UnselectAll()
	w.detail.Hide()
	w.hint.Show()
}

func (w *AnnouncementsWindow) length() int { return len(w.items) }

// newAnnouncementRow is two lines: severity icon and word (so colour is
// never the only signal) with the time, then the title across the whole
// width.
func newAnnouncementRow() fyne.CanvasObject {
	icon := widget.NewIcon(theme.InfoIcon())
	sev := widget.NewLabel("Information")
	when := widget.NewLabel("00.00.0000 00:00")
	when.Importance = widget.LowImportance
	title := widget.NewLabel("")
	title.Truncation = fyne.TextTruncateEllipsis
	return container.NewVBox(container.NewHBox(icon, sev, when), title)
}

func (w *AnnouncementsWindow) updateRow(i widget.ListItemID, o fyne.CanvasObject) {
	if i < 0 || i >= len(w.items) {
		return
	}
	it := w.items[i]
	row := o.(*fyne.Container)
	top := row.Objects[0].(*fyne.Container)
	top.Objects[0].(*widget.Icon).SetResource(severityIcon(it.Severity))
	sev := top.Objects[1].(*widget.Label)
	sev.TextStyle.Bold = !it.Read
	sev.SetText(L("announce.severity." + it.Severity))
	top.Objects[2].(*widget.Label).SetText(formatTime(it.Time))
	title := row.Objects[1].(*widget.Label)
	title.TextStyle.Bold = !it.Read
	title.SetText(it.Title)
}

func severityIcon(sev string) fyne.Resource {
	switch sev {
	case announce.SeverityOutage:
		return theme.ErrorIcon()
	case announce.SeverityMaintenance:
		return theme.WarningIcon()
	}
	return theme.InfoIcon()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(time.Local).Format(L("announce.time_format"))
}

// selected opens an announcement and marks it read.
func (w *AnnouncementsWindow) selected(i widget.ListItemID) {
	if i < 0 || i >= len(w.items) {
		return
	}
	it := w.items[i]
	if it.ID == w.current && it.Read {
		return
	}
	w.current = it.ID
	w.showDetail(it)
	if it.Read {
		return
	}
	w.items[i].Read = true
	w.list.RefreshItem(i)
	w.markRead(localapi.MarkReadRequest{IDs: []string{it.ID}})
}

func (w *AnnouncementsWindow) showDetail(it announce.Item) {
	w.hint.Hide()
	w.detailTitle.SetText(it.Title)
	meta := L("announce.severity."+it.Severity) + " · " + formatTime(it.Time)
	if !it.ValidUntil.IsZero() {
		meta += " · " + L("announce.valid_until", map[string]string{"Time": formatTime(it.ValidUntil)})
	}
	w.detailMeta.SetText(meta)
	w.detailLang.Hidden = w.lang == "" || it.Lang == "" || it.Lang == w.lang
	if !w.detailLang.Hidden {
		w.detailLang.SetText(L("announce.only_other_language"))
	}
	w.detailBody.Segments = w.bodySegments(announce.Parse(it.Body))
	w.detailBody.Refresh()
	w.detail.Show()
	// The body's height changed: lay the pane out again and start at
	// its top.
	w.right.Content.Refresh()
	w.right.ScrollToTop()
}

// bodySegments renders the Markdown model with plain widgets: no HTML,
// no images. A link shows its text and host; only a click opens it.
func (w *AnnouncementsWindow) bodySegments(blocks []announce.Block) []widget.RichTextSegment {
	var segs []widget.RichTextSegment
	hasLink := false
	runs := func(in []announce.Inline) []widget.RichTextSegment {
		var out []widget.RichTextSegment
		for _, r := range in {
			if r.URL != "" {
				if u, err := url.Parse(r.URL); err == nil {
					hasLink = true
					out = append(out, &widget.HyperlinkSegment{Text: r.Text, URL: u, OnTapped: func() { w.openURL(u) }})
					if host := u.Hostname(); host != "" {
						out = append(out, &widget.TextSegment{Text: " (" + host + ")", Style: widget.RichTextStyle{Inline: true, ColorName: theme.ColorNameDisabled}})
					}
					continue
				}
			}
			out = append(out, &widget.TextSegment{Text: r.Text, Style: widget.RichTextStyle{
				Inline:    true,
				TextStyle: fyne.TextStyle{Bold: r.Bold, Italic: r.Italic},
			}})
		}
		return out
	}
	// RichText ends a line only after a segment that is not inline.
	endLine := func(in []widget.RichTextSegment) []widget.RichTextSegment {
		if t, ok := in[len(in)-1].(*widget.TextSegment); ok {
			t.Style.Inline = false
			return in
		}
		return append(in, &widget.TextSegment{Style: widget.RichTextStyleParagraph})
	}
	for _, b := range blocks {
		switch b.Kind {
		case announce.Paragraph:
			segs = append(segs, &widget.ParagraphSegment{Texts: endLine(runs(b.Inlines))})
		case announce.List:
			l := &widget.ListSegment{}
			for _, it := range b.Items {
				l.Items = append(l.Items, &widget.ParagraphSegment{Texts: endLine(runs(it))})
			}
			segs = append(segs, l)
		}
	}
	if hasLink {
		segs = append(segs, &widget.TextSegment{Text: L("announce.link_opens"), Style: widget.RichTextStyle{ColorName: theme.ColorNameDisabled, SizeName: theme.SizeNameCaptionText}})
	}
	return segs
}

// MarkAllRead marks everything read.
func (w *AnnouncementsWindow) MarkAllRead() {
	for i := range w.items {
		w.items[i].Read = true
	}
	w.markAll.Disable()
	w.list.Refresh()
	w.markRead(localapi.MarkReadRequest{All: true})
}

func (w *AnnouncementsWindow) markRead(req localapi.MarkReadRequest) {
	w.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		err := w.client.MarkRead(ctx, req)
		fyne.Do(func() {
			if err != nil {
				w.showError(errorText(err))
				// Show the agent's truth again, not the optimistic one.
				w.Reload()
			}
		})
	})
}

func (w *AnnouncementsWindow) showError(text string) {
	w.errLabel.SetText(text)
	w.errLabel.Show()
}
