package console

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/dienstweg/dienstweg/internal/org/directory"
	"github.com/dienstweg/dienstweg/internal/org/portalsrv"
	"github.com/dienstweg/dienstweg/internal/org/store"
)

// The import page plans a CSV file with the same core as
// `dienstweg-portal directory import-csv` and applies that plan only on a
// second POST. The file's text travels in a hidden field (the console
// keeps no state between requests), and the second POST plans again and
// refuses if the plan differs from the one the person saw.

type importData struct {
	// CSV is the uploaded text, sent back with "Übernehmen".
	CSV string
	// TakeOver: "Von Hand angelegte Benutzer übernehmen" was ticked
	// (the CLI's --take-over-manual).
	TakeOver bool
	// PlanID fingerprints the plan shown; apply compares it.
	PlanID string
	Plan   *directory.Plan
	// Skipped says in German why the plan leaves these users alone.
	Skipped []skipRow
	// FileError is tied to the file field; Problems are the file's bad
	// lines, in German.
	FileError string
	Problems  []string
	// Changed: "Übernehmen" was refused, the plan shown is the new one.
	Changed bool
	// Refusal says in German that the plan disables more users than the
	// limit allows; ConfirmDisable is that number, which the IT person
	// confirms with a checkbox. ConfirmMissing: "Übernehmen" was pressed
	// without it.
	Refusal            string
	ConfirmDisable     int
	ConfirmDisableText string
	ConfirmMissing     bool
}

func (c *Console) handleImportForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, current(r), http.StatusOK, "import", "Benutzer importieren", importData{})
}

// handleImportPlan reads the uploaded file and shows what it would
// change; nothing is applied.
func (c *Console) handleImportPlan(w http.ResponseWriter, r *http.Request) {
	f, _, err := r.FormFile("file")
	if err != nil {
		c.importPage(w, r, http.StatusBadRequest, importData{FileError: "Bitte wählen Sie eine CSV-Datei."})
		return
	}
	defer f.Close()
	text, err := io.ReadAll(f)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.planPage(w, r, importData{CSV: string(text), TakeOver: r.PostFormValue("take_over_manual") != ""})
}

// planPage shows the plan of d.CSV; d says how the page was reached (an
// apply refused because the plan changed, or not confirmed).
func (c *Console) planPage(w http.ResponseWriter, r *http.Request, d importData) {
	plan, users, err := c.plan(r, d.CSV, directory.Options{TakeOverManual: d.TakeOver})
	var in *directory.InputError
	switch {
	case errors.As(err, &in):
		d.FileError = "Die Datei enthält Fehler; es wurde nichts geändert."
		for _, p := range in.Problems {
			d.Problems = append(d.Problems, problemText(p))
		}
		c.importPage(w, r, http.StatusUnprocessableEntity, d)
		return
	case errors.Is(err, directory.ErrEmptySource):
		d.FileError = "Die Datei enthält keine Benutzer. Sie würde alle früher importierten Benutzer sperren; es wurde nichts geändert."
		c.importPage(w, r, http.StatusUnprocessableEntity, d)
		return
	case err != nil:
		c.fail(w, r, err)
		return
	}
	d.Plan, d.PlanID = &plan, planID(plan)
	for _, sk := range plan.Skipped {
		d.Skipped = append(d.Skipped, skipRow{sk.User, skipReason(users[sk.User])})
	}
	var tooMany *directory.TooManyDisablesError
	if errors.As(plan.CheckDisableLimit(), &tooMany) {
		d.Refusal, d.ConfirmDisable, d.ConfirmDisableText = refusalText(tooMany), tooMany.Disable, germanInt(tooMany.Disable)
	}
	status := http.StatusOK
	if d.ConfirmMissing {
		status = http.StatusUnprocessableEntity
	}
	c.importPage(w, r, status, d)
}

func (c *Console) importPage(w http.ResponseWriter, r *http.Request, status int, d importData) {
	c.render(w, r, current(r), status, "import", "Benutzer importieren", d)
}

// plan parses text as the CLI does and plans it against the store now;
// it returns the stored users the plan was made against, by name.
func (c *Console) plan(r *http.Request, text string, opts directory.Options) (directory.Plan, map[string]store.User, error) {
	entries, err := directory.ReadCSV(strings.NewReader(text))
	if err != nil {
		return directory.Plan{}, nil, err
	}
	users, err := c.st.Users(r.Context())
	if err != nil {
		return directory.Plan{}, nil, err
	}
	byName := make(map[string]store.User, len(users))
	for _, u := range users {
		byName[u.Name] = u
	}
	p, err := directory.MakePlan(users, entries, store.SourceCSV, opts)
	return p, byName, err
}

type skipRow struct{ User, Reason string }

// skipReason says why MakePlan skips an existing user: it skips only
// users added by hand and users of another import.
func skipReason(u store.User) string {
	if u.Source == store.SourceManual || u.Source == "" {
		return "Von Hand angelegt; der Import ändert diesen Benutzer nur mit „Von Hand angelegte Benutzer übernehmen“."
	}
	return "Wird vom Import aus " + sourceName(u.Source) + " verwaltet."
}

func sourceName(src string) string {
	switch src {
	case store.SourceLDAP:
		return "dem Verzeichnis (LDAP)"
	case store.SourceCSV:
		return "einer CSV-Datei"
	}
	return src
}

// planID is a digest of everything the plan would do, as the person read
// it.
func planID(p directory.Plan) string {
	h := sha256.New()
	io.WriteString(h, p.Source+"\x00")
	p.Write(h)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// handleImportApply plans the sent text again and applies it only if
// that plan is the one shown. A plan beyond the disable limit needs the
// confirmation checkbox, which names the number of users it disables.
func (c *Console) handleImportApply(w http.ResponseWriter, r *http.Request) {
	a := current(r)
	d := importData{CSV: r.PostFormValue("csv"), TakeOver: r.PostFormValue("take_over_manual") != ""}
	// Unticked, the checkbox sends nothing: 0 confirms no number.
	confirm, _ := strconv.Atoi(r.PostFormValue("confirm_disable"))
	plan, _, err := c.plan(r, d.CSV, directory.Options{TakeOverManual: d.TakeOver, ConfirmDisable: confirm})
	if err != nil || planID(plan) != r.PostFormValue("plan") {
		// Someone changed users meanwhile (or the form was altered): show
		// the new plan rather than apply something nobody saw.
		c.log.Info("console import refused: the plan changed since it was shown", "actor", a.actor())
		d.Changed = true
		c.planPage(w, r, d)
		return
	}
	res, err := directory.Apply(r.Context(), c.st, plan, a.actor(), c.cfg.Now())
	var tooMany *directory.TooManyDisablesError
	if errors.As(err, &tooMany) {
		// Nothing changed; Apply recorded the refusal in the audit log.
		c.log.Info("console import refused: beyond the disable limit and not confirmed", "actor", a.actor(), "err", err)
		d.ConfirmMissing = true
		c.planPage(w, r, d)
		return
	}
	if err != nil {
		c.log.Error("console import stopped", "err", err, "created", res.Created, "updated", res.Updated)
		c.status(w, r, a, http.StatusInternalServerError, "Der Import wurde unterbrochen; ein Teil ist übernommen und im Protokoll vermerkt. Bitte laden Sie die Datei noch einmal hoch, um den Rest zu sehen.")
		return
	}
	done(w, r, Prefix+"users", importNotice(res))
}

func importNotice(res directory.Result) string {
	return fmt.Sprintf("Import übernommen: %d angelegt, %d geändert, %d wieder freigeschaltet, %d gesperrt.",
		res.Created, res.Updated, res.Enabled, res.Disabled)
}

// problemText words a problem of the uploaded file in German; the
// directory package gives the facts, the CLI its own English.
func problemText(p directory.Problem) string {
	where := "Datei"
	if p.Where.Line > 0 {
		where = fmt.Sprintf("Zeile %d", p.Where.Line)
	}
	name := strings.Trim(strconv.Quote(p.Value), `"`) // control characters visible
	switch p.Code {
	case directory.ProblemNotUTF8:
		return "Die Datei ist kein UTF-8-Text. Bitte speichern Sie sie als „CSV UTF-8“."
	case directory.ProblemSyntax:
		if errors.Is(p.Err, csv.ErrBareQuote) {
			return fmt.Sprintf("%s, Zeichen %d: Ein Anführungszeichen steht mitten in einem Feld. Setzen Sie das ganze Feld in Anführungszeichen und schreiben Sie Anführungszeichen darin doppelt (\"\").", where, p.Column)
		}
		return fmt.Sprintf("%s, Zeichen %d: Ein Anführungszeichen ist nicht geschlossen oder das Feld geht nach dem schließenden Anführungszeichen weiter. Anführungszeichen in einem Feld schreiben Sie doppelt (\"\").", where, p.Column)
	case directory.ProblemFieldCount:
		fields := fmt.Sprintf("%d Felder", p.Fields)
		if p.Fields == 1 {
			fields = "1 Feld"
		}
		return fmt.Sprintf("%s: %s statt 2 oder 3. Erwartet wird Benutzername,Anzeigename,Gruppen (Gruppen durch ; getrennt); ein Komma im Namen braucht Anführungszeichen.", where, fields)
	case directory.ProblemNoUserName:
		return where + ": Der Benutzername fehlt."
	case directory.ProblemBadUserName:
		switch {
		case errors.Is(p.Err, portalsrv.ErrUserNameTooLong):
			return fmt.Sprintf("%s: Der Benutzername „%s“ ist zu lang; bei der Einrichtung passen höchstens %d Byte (Umlaute zählen doppelt).", where, name, portalsrv.MaxUserName)
		case errors.Is(p.Err, portalsrv.ErrUserNameUntypable):
			return fmt.Sprintf("%s: Der Benutzername „%s“ enthält Zeichen, die niemand eintippen kann.", where, name)
		}
		return where + ": Der Benutzername fehlt."
	case directory.ProblemDuplicate:
		return fmt.Sprintf("%s: Der Benutzername „%s“ steht schon in Zeile %d.", where, name, p.Other.Line)
	}
	return where + ": " + p.Error()
}

// refusalText says in German what a plan beyond the disable limit would
// do.
func refusalText(e *directory.TooManyDisablesError) string {
	limit := ""
	switch l := e.Limit; {
	case l.Percent > 0 && l.Users > 0:
		limit = fmt.Sprintf(" (%s %% der aktiven Konten, mindestens %s)", germanDecimal(l.Percent), germanInt(l.Users))
	case l.Percent > 0:
		limit = fmt.Sprintf(" (%s %% der aktiven Konten)", germanDecimal(l.Percent))
	}
	return fmt.Sprintf("Der Import würde %s von %s aktiven Benutzerkonten sperren, die er verwaltet, und ihre Geräte ebenfalls. "+
		"Ohne Bestätigung sperrt ein Import höchstens %s Konten%s. Ist die Datei vollständig? Es wurde nichts geändert.",
		germanInt(e.Disable), germanInt(e.Active), germanInt(e.Allowed), limit)
}

// germanInt writes a count with German thousands separators: 4.812.
func germanInt(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func germanDecimal(f float64) string {
	return strings.Replace(strconv.FormatFloat(f, 'f', -1, 64), ".", ",", 1)
}
