package console

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/dienstweg/dienstweg/internal/org/directory"
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
	// PlanID fingerprints the plan shown; apply compares it.
	PlanID string
	Plan   *directory.Plan
	// Skipped says in German why the plan leaves these users alone.
	Skipped []skipRow
	// FileError is tied to the file field; Problems are the file's bad
	// lines.
	FileError string
	Problems  []string
	// Changed: "Übernehmen" was refused, the plan shown is the new one.
	Changed bool
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
	c.planPage(w, r, string(text), false)
}

// planPage shows the plan of text; changed says an apply was refused
// because the plan was no longer the one shown.
func (c *Console) planPage(w http.ResponseWriter, r *http.Request, text string, changed bool) {
	d := importData{CSV: text, Changed: changed}
	plan, users, err := c.plan(r, text)
	var in *directory.InputError
	switch {
	case errors.As(err, &in):
		d.FileError = "Die Datei enthält Fehler; es wurde nichts geändert."
		d.Problems = in.Problems
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
	c.importPage(w, r, http.StatusOK, d)
}

func (c *Console) importPage(w http.ResponseWriter, r *http.Request, status int, d importData) {
	c.render(w, r, current(r), status, "import", "Benutzer importieren", d)
}

// plan parses text as the CLI does and plans it against the store now;
// it returns the stored users the plan was made against, by name.
func (c *Console) plan(r *http.Request, text string) (directory.Plan, map[string]store.User, error) {
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
	p, err := directory.MakePlan(users, entries, store.SourceCSV, directory.Options{})
	return p, byName, err
}

type skipRow struct{ User, Reason string }

// skipReason says why MakePlan skips an existing user: it skips only
// users added by hand and users of another import.
func skipReason(u store.User) string {
	if u.Source == store.SourceManual || u.Source == "" {
		return "Von Hand angelegt; der Import ändert diesen Benutzer nicht."
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
// that plan is the one shown.
func (c *Console) handleImportApply(w http.ResponseWriter, r *http.Request) {
	a := current(r)
	text := r.PostFormValue("csv")
	plan, _, err := c.plan(r, text)
	if err != nil || planID(plan) != r.PostFormValue("plan") {
		// Someone changed users meanwhile (or the form was altered): show
		// the new plan rather than apply something nobody saw.
		c.log.Info("console import refused: the plan changed since it was shown", "actor", a.actor())
		c.planPage(w, r, text, true)
		return
	}
	res, err := directory.Apply(r.Context(), c.st, plan, a.actor(), c.cfg.Now())
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
