package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dienstweg/dienstweg/internal/org/letters"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/store"
	"github.com/dienstweg/dienstweg/internal/update"
)

var (
	itOnly  = []string{store.RoleIT}
	anyRole = []string{store.RoleIT, store.RoleHelpdesk}
)

// Route lists every console route with the roles it serves; tests walk
// it so that no handler escapes the role check.
type Route struct {
	Pattern string
	Roles   []string
}

// routes registers every page. Only the sign-in form and the style sheet
// are open; all else goes through allow.
func (c *Console) routes() {
	c.mux = http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	c.mux.Handle("GET "+Prefix+"static/", http.StripPrefix(Prefix+"static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET "+Prefix+"signin", c.handleSigninForm)
	c.mux.HandleFunc("POST "+Prefix+"signin", c.handleSignin)
	for _, rt := range c.Routes() {
		c.mux.Handle(rt.Pattern, c.allow(rt.Roles, c.handlers()[rt.Pattern]))
	}
	c.mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		c.status(w, r, nil, http.StatusNotFound, "Diese Seite gibt es nicht.")
	})
}

// Routes are the console's signed-in routes and who may use them.
func (c *Console) Routes() []Route {
	return []Route{
		{"GET " + Prefix + "{$}", anyRole},
		{"POST " + Prefix + "signout", anyRole},
		{"GET " + Prefix + "users", itOnly},
		{"GET " + Prefix + "devices", itOnly},
		{"POST " + Prefix + "devices/revoke", anyRole},
		{"GET " + Prefix + "sessions", itOnly},
		{"GET " + Prefix + "announcements", itOnly},
		{"POST " + Prefix + "announcements", itOnly},
		{"GET " + Prefix + "releases", itOnly},
		{"GET " + Prefix + "audit", itOnly},
		{"GET " + Prefix + "letters", itOnly},
		{"POST " + Prefix + "letters", itOnly},
		{"GET " + Prefix + "import", itOnly},
		{"POST " + Prefix + "import", itOnly},
		{"POST " + Prefix + "import/apply", itOnly},
		{"GET " + Prefix + "helpdesk", anyRole},
		{"POST " + Prefix + "helpdesk/unlock", anyRole},
		{"POST " + Prefix + "helpdesk/letter", anyRole},
	}
}

func (c *Console) handlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET " + Prefix + "{$}": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, home(current(r).Role), http.StatusSeeOther)
		},
		"POST " + Prefix + "signout":         c.handleSignout,
		"GET " + Prefix + "users":            c.handleUsers,
		"GET " + Prefix + "devices":          c.handleDevices,
		"POST " + Prefix + "devices/revoke":  c.handleRevoke,
		"GET " + Prefix + "sessions":         c.handleSessions,
		"GET " + Prefix + "announcements":    c.handleAnnouncements,
		"POST " + Prefix + "announcements":   c.handleAnnouncementPost,
		"GET " + Prefix + "releases":         c.handleReleases,
		"GET " + Prefix + "audit":            c.handleAudit,
		"GET " + Prefix + "letters":          c.handleLettersForm,
		"POST " + Prefix + "letters":         c.handleLetters,
		"GET " + Prefix + "import":           c.handleImportForm,
		"POST " + Prefix + "import":          c.handleImportPlan,
		"POST " + Prefix + "import/apply":    c.handleImportApply,
		"GET " + Prefix + "helpdesk":         c.handleHelpdesk,
		"POST " + Prefix + "helpdesk/unlock": c.handleUnlock,
		"POST " + Prefix + "helpdesk/letter": c.handleHelpdeskLetter,
	}
}

// page is what the layout needs besides the page's own data.
type page struct {
	Title   string
	Account *account
	Nav     []navItem
	Notice  string
	Data    any
}

type navItem struct {
	Path, Label string
	Current     bool
}

func nav(a *account, path string) []navItem {
	if a == nil {
		return nil
	}
	items := []navItem{{Prefix + "helpdesk", "Helpdesk", false}}
	if a.Role == store.RoleIT {
		items = []navItem{
			{Prefix + "users", "Benutzer und Gruppen", false},
			{Prefix + "import", "Import", false},
			{Prefix + "devices", "Geräte", false},
			{Prefix + "sessions", "Aktive Sitzungen", false},
			{Prefix + "announcements", "Mitteilungen", false},
			{Prefix + "releases", "Updates", false},
			{Prefix + "audit", "Protokoll", false},
			{Prefix + "letters", "Aktivierungsbriefe", false},
			{Prefix + "helpdesk", "Helpdesk", false},
		}
	}
	for i := range items {
		items[i].Current = items[i].Path == path
	}
	return items
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, a *account, status int, name, title string, data any) {
	t, ok := c.pages[name]
	if !ok {
		c.fail(w, r, fmt.Errorf("no template %q", name))
		return
	}
	var buf bytes.Buffer
	p := page{Title: title, Account: a, Nav: nav(a, r.URL.Path), Notice: r.URL.Query().Get("ok"), Data: data}
	if err := t.Execute(&buf, p); err != nil {
		c.fail(w, r, fmt.Errorf("rendering %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// status shows a short message page with an HTTP status.
func (c *Console) status(w http.ResponseWriter, r *http.Request, a *account, code int, msg string) {
	c.render(w, r, a, code, "status", http.StatusText(code), msg)
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	c.log.Error("console request failed", "path", r.URL.Path, "err", err)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintln(w, "Interner Fehler. Bitte versuchen Sie es später noch einmal.")
}

// done redirects after a successful POST (post/redirect/get), with a
// notice the next page shows.
func done(w http.ResponseWriter, r *http.Request, to, notice string) {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	http.Redirect(w, r, to+sep+"ok="+urlQuery(notice), http.StatusSeeOther)
}

func urlQuery(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", " ", "+", "#", "%23", "?", "%3F", "=", "%3D").Replace(s)
}

// --- IT pages ------------------------------------------------------------

type userRow struct {
	store.User
	Devices int
}

func (c *Console) handleUsers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	users, err := c.st.Users(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	devs, err := c.st.Devices(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	n := map[string]int{}
	for _, d := range devs {
		if d.RevokedAt.IsZero() {
			n[d.User]++
		}
	}
	groups := map[string][]string{}
	var rows []userRow
	for _, u := range users {
		u.TOTPSecret = "" // never near a template
		rows = append(rows, userRow{User: u, Devices: n[u.Name]})
		for _, g := range u.Groups {
			groups[g] = append(groups[g], u.Name)
		}
	}
	type group struct {
		Name    string
		Members []string
	}
	var gs []group
	for g, m := range groups {
		gs = append(gs, group{g, m})
	}
	slices.SortFunc(gs, func(a, b group) int { return strings.Compare(a.Name, b.Name) })
	c.render(w, r, current(r), http.StatusOK, "users", "Benutzer und Gruppen", map[string]any{"Users": rows, "Groups": gs})
}

func (c *Console) handleDevices(w http.ResponseWriter, r *http.Request) {
	devs, err := c.st.Devices(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	a := current(r)
	c.render(w, r, a, http.StatusOK, "devices", "Geräte", map[string]any{"Devices": devs, "CSRF": a.csrf, "Now": c.cfg.Now()})
}

func (c *Console) handleRevoke(w http.ResponseWriter, r *http.Request) {
	a := current(r)
	id := r.PostFormValue("device")
	back := Prefix + "devices"
	if a.Role != store.RoleIT || r.PostFormValue("back") == "helpdesk" {
		back = Prefix + "helpdesk?user=" + urlQuery(r.PostFormValue("user"))
	}
	if id == "" {
		c.status(w, r, a, http.StatusBadRequest, "Kein Gerät gewählt.")
		return
	}
	if err := c.cfg.Portal.RevokeDeviceBy(r.Context(), id, a.actor()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			c.status(w, r, a, http.StatusNotFound, "Dieses Gerät gibt es nicht.")
			return
		}
		c.fail(w, r, err)
		return
	}
	done(w, r, back, "Das Gerät ist gesperrt.")
}

func (c *Console) handleSessions(w http.ResponseWriter, r *http.Request) {
	now := c.cfg.Now()
	devs, err := c.st.AuthorisedDevices(r.Context(), now)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	// Since when: the newest session.authorise of each device in the
	// audit log of the last day.
	since := map[string]time.Time{}
	after := int64(0)
	for {
		evs, err := c.st.AuditEvents(r.Context(), after, now.Add(-24*time.Hour), 1000)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		for _, e := range evs {
			if e.Action == portalsrv.AuditSessionAuthorise {
				since[e.Subject] = e.At
			}
			after = e.ID
		}
		if len(evs) < 1000 {
			break
		}
	}
	gws, err := c.st.DeviceGateways(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	type row struct {
		store.Device
		Since   time.Time
		Gateway gatewayCell
	}
	var rows []row
	for _, d := range devs {
		g, ok := gws[d.ID]
		rows = append(rows, row{d, since[d.ID], gatewayContact(g, ok, now)})
	}
	c.render(w, r, current(r), http.StatusOK, "sessions", "Aktive Sitzungen", map[string]any{"Sessions": rows})
}

// contactLost: WireGuard renews the handshake every 2 minutes while a
// device is connected (it sends a keepalive every 25 s) and the gateway
// reports it within 22 s, so a longer silence means the connection is
// gone.
const contactLost = 3 * time.Minute

// gatewayCell is what the sessions page says about a device's gateway.
type gatewayCell struct {
	// Endpoint is the gateway as the portal lists it (host:port); empty
	// if the device has not connected through any gateway yet.
	Endpoint string
	// Contact says how long ago, in words.
	Contact string
	// Lost: no contact for longer than contactLost.
	Lost bool
}

// gatewayContact describes the recorded gateway g of a device at now; ok
// false means none is recorded.
func gatewayContact(g store.DeviceGateway, ok bool, now time.Time) gatewayCell {
	if !ok {
		return gatewayCell{Contact: "noch keine Verbindung"}
	}
	age := max(0, now.Sub(g.LastHandshake))
	cell := gatewayCell{Endpoint: g.GatewayEndpoint}
	switch {
	case age > contactLost:
		cell.Lost = true
		cell.Contact = "keine Verbindung seit " + sinceWords(g.LastHandshake, now)
	case age < time.Minute:
		cell.Contact = fmt.Sprintf("letzter Kontakt vor %d s", int(age/time.Second))
	default:
		cell.Contact = fmt.Sprintf("letzter Kontakt vor %d min", int(age/time.Minute))
	}
	return cell
}

// sinceWords is a past moment as the clock shows it: the time of day if
// it was today (in Berlin), else the date too.
func sinceWords(t, now time.Time) string {
	t, now = t.In(berlin), now.In(berlin)
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04") + " Uhr"
	}
	return t.Format("02.01.2006 15:04") + " Uhr"
}

type annForm struct {
	ID, Severity, TitleDE, TitleEN, BodyDE, BodyEN, From, Until, Audience string
	Errors                                                                map[string]string
}

const formTime = "2006-01-02T15:04"

func (c *Console) announcementsPage(w http.ResponseWriter, r *http.Request, status int, f annForm, preview *store.Announcement) {
	list, err := c.st.Announcements(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	slices.SortFunc(list, func(a, b store.Announcement) int { return b.ValidFrom.Compare(a.ValidFrom) })
	a := current(r)
	c.render(w, r, a, status, "announcements", "Mitteilungen", map[string]any{
		"List": list, "Form": f, "Preview": preview, "CSRF": a.csrf, "Now": c.cfg.Now(),
	})
}

func (c *Console) handleAnnouncements(w http.ResponseWriter, r *http.Request) {
	now := c.cfg.Now().In(berlin)
	c.announcementsPage(w, r, http.StatusOK, annForm{Severity: "info", Audience: portalsrv.AudienceAll,
		From: now.Format(formTime), Until: now.Add(7 * 24 * time.Hour).Format(formTime)}, nil)
}

// handleAnnouncementPost previews (action=preview) or publishes the form.
func (c *Console) handleAnnouncementPost(w http.ResponseWriter, r *http.Request) {
	f := annForm{
		ID: strings.TrimSpace(r.PostFormValue("id")), Severity: r.PostFormValue("severity"),
		TitleDE: strings.TrimSpace(r.PostFormValue("title_de")), TitleEN: strings.TrimSpace(r.PostFormValue("title_en")),
		BodyDE: strings.TrimSpace(r.PostFormValue("body_de")), BodyEN: strings.TrimSpace(r.PostFormValue("body_en")),
		From: r.PostFormValue("from"), Until: r.PostFormValue("until"), Audience: r.PostFormValue("audience"),
		Errors: map[string]string{},
	}
	now := c.cfg.Now()
	ann := store.Announcement{ID: f.ID, Severity: f.Severity, TitleDE: f.TitleDE, TitleEN: f.TitleEN, BodyDE: f.BodyDE, BodyEN: f.BodyEN, UpdatedAt: now}
	if ann.ID == "" {
		ann.ID = fmt.Sprintf("konsole-%d", now.UnixNano())
	}
	if ann.TitleEN == "" {
		ann.TitleEN = ann.TitleDE
	}
	if ann.BodyEN == "" {
		ann.BodyEN = ann.BodyDE
	}
	var err error
	if ann.ValidFrom, err = time.ParseInLocation(formTime, f.From, berlin); err != nil {
		f.Errors["from"] = "Bitte ein Datum mit Uhrzeit angeben."
	}
	if ann.ValidUntil, err = time.ParseInLocation(formTime, f.Until, berlin); err != nil {
		f.Errors["until"] = "Bitte ein Datum mit Uhrzeit angeben."
	} else if !ann.ValidUntil.After(ann.ValidFrom) {
		f.Errors["until"] = "Das Ende muss nach dem Beginn liegen."
	}
	for _, g := range strings.Split(f.Audience, ",") {
		if g = strings.TrimSpace(g); g != "" {
			ann.Audience = append(ann.Audience, g)
		}
	}
	if len(ann.Audience) == 0 {
		ann.Audience = []string{portalsrv.AudienceAll}
	}
	if f.TitleDE == "" {
		f.Errors["title_de"] = "Bitte einen Titel angeben."
	}
	if f.BodyDE == "" {
		f.Errors["body_de"] = "Bitte einen Text angeben."
	}
	if !slices.Contains([]string{"info", "maintenance", "outage"}, f.Severity) {
		f.Errors["severity"] = "Bitte eine Art wählen."
	}
	if len(f.Errors) == 0 {
		if err := portalsrv.ValidateAnnouncement(ann); err != nil {
			f.Errors["body_de"] = "Die Mitteilung ist ungültig: " + err.Error()
		}
	}
	if len(f.Errors) > 0 {
		c.announcementsPage(w, r, http.StatusBadRequest, f, nil)
		return
	}
	if r.PostFormValue("action") != "post" {
		c.announcementsPage(w, r, http.StatusOK, f, &ann)
		return
	}
	ctx := r.Context()
	if _, err := c.st.Announcement(ctx, ann.ID); err == nil {
		f.Errors["id"] = "Diese Kennung ist schon vergeben."
		c.announcementsPage(w, r, http.StatusConflict, f, nil)
		return
	}
	if err := c.st.PutAnnouncement(ctx, ann); err != nil {
		c.fail(w, r, err)
		return
	}
	if err := c.audit(ctx, current(r), "console.announce.post", ann.ID, map[string]string{"severity": ann.Severity, "audience": strings.Join(ann.Audience, ",")}); err != nil {
		c.fail(w, r, err)
		return
	}
	done(w, r, Prefix+"announcements", "Die Mitteilung ist veröffentlicht.")
}

type releaseRow struct {
	Channel   string
	Published time.Time
	Manifest  *update.Manifest
	Error     string
}

func (c *Console) handleReleases(w http.ResponseWriter, r *http.Request) {
	var rows []releaseRow
	for _, ch := range c.cfg.Channels {
		row := releaseRow{Channel: ch}
		rel, err := c.st.Release(r.Context(), ch)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			c.fail(w, r, err)
			return
		default:
			row.Published = rel.PublishedAt
			var m update.Manifest
			// Shown, not trusted: devices verify the signature.
			if err := json.Unmarshal(rel.Manifest, &m); err != nil {
				row.Error = "Das Manifest ist nicht lesbar."
			} else {
				row.Manifest = &m
			}
		}
		rows = append(rows, row)
	}
	c.render(w, r, current(r), http.StatusOK, "releases", "Updates", map[string]any{"Releases": rows})
}

func (c *Console) handleAudit(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	const pageSize = 100
	evs, err := c.st.AuditEvents(r.Context(), after, time.Time{}, pageSize)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	next := int64(0)
	if len(evs) == pageSize {
		next = evs[len(evs)-1].ID
	}
	type row struct {
		store.AuditEvent
		DetailText string
	}
	rows := make([]row, 0, len(evs))
	for _, e := range evs {
		var parts []string
		for k, v := range e.Details {
			parts = append(parts, k+"="+v)
		}
		slices.Sort(parts)
		rows = append(rows, row{e, strings.Join(parts, ", ")})
	}
	c.render(w, r, current(r), http.StatusOK, "audit", "Protokoll", map[string]any{"Events": rows, "Next": next})
}

func (c *Console) handleLettersForm(w http.ResponseWriter, r *http.Request) {
	users, err := c.st.Users(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	for i := range users {
		users[i].TOTPSecret = ""
	}
	a := current(r)
	c.render(w, r, a, http.StatusOK, "letters", "Aktivierungsbriefe", map[string]any{"Users": users, "CSRF": a.csrf})
}

func (c *Console) handleLetters(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.status(w, r, current(r), http.StatusBadRequest, "Das Formular ist unvollständig.")
		return
	}
	names := r.PostForm["user"]
	if len(names) == 0 {
		c.status(w, r, current(r), http.StatusBadRequest, "Bitte wählen Sie mindestens eine Person.")
		return
	}
	c.writeLetters(w, r, names)
}

// writeLetters issues a new code for each user, records each in the audit
// log and answers the letters as one PDF.
func (c *Console) writeLetters(w http.ResponseWriter, r *http.Request, names []string) {
	ctx := r.Context()
	a := current(r)
	now := c.cfg.Now()
	users := make([]store.User, 0, len(names))
	for _, n := range names {
		u, err := c.st.User(ctx, portalsrv.NormaliseUser(n))
		if errors.Is(err, store.ErrNotFound) {
			c.status(w, r, a, http.StatusNotFound, "Diese Person gibt es nicht: "+n)
			return
		}
		if err != nil {
			c.fail(w, r, err)
			return
		}
		users = append(users, u)
	}
	ls, err := letters.Issue(ctx, c.st, users, now, c.cfg.ActivationTTL, a.actor(), "console.letter", nil)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := letters.Write(&buf, "de", c.cfg.Sender, now, ls); err != nil {
		c.fail(w, r, fmt.Errorf("%d codes were issued but their letters failed; print them again: %w", len(ls), err))
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="aktivierungsbriefe-%s.pdf"`, now.In(berlin).Format("2006-01-02-1504")))
	w.Write(buf.Bytes())
}

// --- Helpdesk ------------------------------------------------------------

type helpdeskData struct {
	CSRF     string
	Code     string
	User     string
	Report   *Report
	NoReport bool
	// Sent is when the report arrived, as the helpdesk says it on the
	// phone ("heute 9:14 Uhr").
	Sent     string
	Person   *store.User
	Locked   bool
	Devices  []store.Device
	NotFound bool
	// Setup says how far the person's setup came, from the user and the
	// devices together, so the page cannot contradict its device list.
	Setup string
}

func (c *Console) handleHelpdesk(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a := current(r)
	now := c.cfg.Now()
	q := r.URL.Query()
	d := helpdeskData{CSRF: a.csrf, Code: strings.ToUpper(strings.TrimSpace(q.Get("code"))), User: portalsrv.NormaliseUser(q.Get("user"))}
	if d.Code != "" {
		var rep Report
		err := ErrNoReport
		if c.cfg.Reports != nil {
			rep, err = c.cfg.Reports.ReportBySupportCode(ctx, d.Code)
		}
		switch {
		case errors.Is(err, ErrNoReport):
			d.NoReport = true
		case err != nil:
			c.fail(w, r, err)
			return
		default:
			d.Report = &rep
			d.Sent = dayAndTime(rep.SentAt, now)
			if d.User == "" {
				d.User = rep.User
			}
		}
	}
	if d.User != "" {
		u, err := c.st.User(ctx, d.User)
		switch {
		case errors.Is(err, store.ErrNotFound):
			d.NotFound = true
		case err != nil:
			c.fail(w, r, err)
			return
		default:
			u.TOTPSecret = ""
			d.Person = &u
			if d.Locked, err = c.cfg.Portal.Locked(ctx, u.Name); err != nil {
				c.fail(w, r, err)
				return
			}
			if d.Devices, err = c.st.DevicesOfUser(ctx, u.Name); err != nil {
				c.fail(w, r, err)
				return
			}
			d.Setup = setupStatus(u, d.Devices)
		}
	}
	c.render(w, r, a, http.StatusOK, "helpdesk", "Helpdesk", d)
}

// setupStatus says in one sentence how far u's setup came. A device is
// registered at the end of setup, so an active device means setup is
// done, whatever else the records say; the newest one is named.
func setupStatus(u store.User, devices []store.Device) string {
	var newest *store.Device
	revoked := 0
	for i, dev := range devices {
		if !dev.RevokedAt.IsZero() {
			revoked++
			continue
		}
		if newest == nil || dev.CreatedAt.After(newest.CreatedAt) {
			newest = &devices[i]
		}
	}
	var s string
	switch {
	case newest != nil:
		s = "Einrichtung abgeschlossen am " + when(newest.CreatedAt) + " Uhr"
		if newest.Name != "" {
			s += " (Gerät „" + newest.Name + "“)"
		}
		s += "."
	case revoked > 0:
		s = "Kein aktives Gerät: "
		if revoked == 1 {
			s += "Das Gerät ist gesperrt."
		} else {
			s += "Alle Geräte sind gesperrt."
		}
		s += " Für ein neues Gerät braucht die Person einen neuen Aktivierungscode."
	case !u.EnrolledAt.IsZero():
		s = "Einrichtung nicht abgeschlossen: Die Authenticator-App ist seit " + when(u.EnrolledAt) + " Uhr bestätigt, aber noch kein Gerät registriert."
	default:
		s = "Noch nicht eingerichtet: Die Person hat noch kein Gerät registriert."
	}
	if u.Disabled() {
		s += " Das Konto ist seit " + when(u.DisabledAt) + " Uhr abgeschaltet; nur die IT kann es wieder freigeben."
	}
	return s
}

// dayAndTime says when t was, as one says it on the phone: "heute 9:14
// Uhr", "gestern 17:02 Uhr", otherwise with the date.
func dayAndTime(t, now time.Time) string {
	t, now = t.In(berlin), now.In(berlin)
	clock := fmt.Sprintf("%d:%02d Uhr", t.Hour(), t.Minute())
	// By the calendar, not by 24 hours: a day of a clock change has 23 or 25.
	day := func(x time.Time) string { return x.Format("2006-01-02") }
	switch day(t) {
	case day(now):
		return "heute " + clock
	case day(now.AddDate(0, 0, -1)):
		return "gestern " + clock
	}
	return "am " + t.Format("02.01.2006") + " um " + clock
}

func (c *Console) postedUser(w http.ResponseWriter, r *http.Request) (store.User, bool) {
	u, err := c.st.User(r.Context(), portalsrv.NormaliseUser(r.PostFormValue("user")))
	if errors.Is(err, store.ErrNotFound) {
		c.status(w, r, current(r), http.StatusNotFound, "Diese Person gibt es nicht.")
		return u, false
	}
	if err != nil {
		c.fail(w, r, err)
		return u, false
	}
	return u, true
}

func (c *Console) handleUnlock(w http.ResponseWriter, r *http.Request) {
	u, ok := c.postedUser(w, r)
	if !ok {
		return
	}
	if err := c.cfg.Portal.EndLockout(r.Context(), u.Name, current(r).actor()); err != nil {
		c.fail(w, r, err)
		return
	}
	done(w, r, Prefix+"helpdesk?user="+urlQuery(u.Name), "Die Sperre ist aufgehoben.")
}

func (c *Console) handleHelpdeskLetter(w http.ResponseWriter, r *http.Request) {
	u, ok := c.postedUser(w, r)
	if !ok {
		return
	}
	c.writeLetters(w, r, []string{u.Name})
}
