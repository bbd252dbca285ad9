package policy

import (
	"bytes"
	"fmt"
	"strings"
)

// Markdown is docs/policy.md, the administrator's reference.
func Markdown() []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# Central policy (administrator's reference)")
	p("")
	p("<!-- %s -->", generatedNote)
	p("")
	p("IT sets Dienstweg's behaviour centrally and locks it. A setting that the policy")
	p("sets is **locked**: the person cannot change it, not in the windows, not with")
	p("`dienstweg settings`, not through the local API (it answers 403 `setting_locked`).")
	p("Dienstweg shows it as locked, with \"Verwaltet von …\" (`managed_by_organization_name`)")
	p("and the helpdesk text.")
	p("")
	p("Which value applies, strongest first:")
	p("")
	p("1. the policy (locked);")
	p("2. the person's own choice (only settings marked *person may change*), kept in")
	p("   `settings.json` in the agent's state directory (`dienstweg settings`, the status window);")
	p("3. the organisation profile, where it has such a field (`tunnel.mode`, `organisation`, `helpdesk`);")
	p("4. the default below.")
	p("")
	p("`dienstweg status --json` shows every effective value and where it came from")
	p("(`settings.list[].source`: `policy`, `user`, `profile` or `default`), the policy's")
	p("`origin` and any `problems` found while reading it.")
	p("")
	p("## Where the policy lives")
	p("")
	p("**Linux:** `%s`, one JSON object of the keys below, e.g.", FilePath)
	p("")
	p("```json")
	p(`{`)
	p(`  "tunnel_mode": "system",`)
	p(`  "allow_reenroll": false,`)
	p(`  "update_check_hours": 4,`)
	p(`  "managed_by_organization_name": "Stadt Musterstadt",`)
	p(`  "helpdesk_text": "IT-Service, Tel. 0123 456-789, Mo–Fr 7–16 Uhr"`)
	p(`}`)
	p("```")
	p("")
	p("The file must be a plain file (not a symbolic link) owned by root and writable by")
	p("nobody else (e.g. `chown root:root`, `chmod 644`), in directories only root can change.")
	p("Otherwise Dienstweg ignores the **whole file**, logs why and reports it under")
	p("`settings.problems`: values that someone else could have written prove nothing about")
	p("what IT wants. A key that is unknown or has a wrong value is ignored on its own, with a")
	p("problem named the same way; the other keys apply.")
	p("")
	p("**Windows:** `HKEY_LOCAL_MACHINE\\%s`, set with Group Policy through the template", RegistryPath)
	p("in `packaging/windows/admx` (copy `%s` and the `de-DE`, `en-US` folders into", ADMXName)
	p("`PolicyDefinitions` of the central store). Value names are the keys in CamelCase (column")
	p("*Registry*); yes/no settings and numbers are `REG_DWORD`, choices and texts `REG_SZ`.")
	p("")
	p("**When a change applies:** Dienstweg reads the policy once, when the agent starts (at")
	p("sign-in), on Linux and on Windows alike; it does not watch the file or the registry. A")
	p("changed `policy.json`, or registry values that Group Policy wrote in the background, apply")
	p("from the next start of Dienstweg: after signing out and in again, or after quitting")
	p("Dienstweg (tray, „Dienstweg beenden“) and starting it again. Until then the old values stay in force;")
	p("`dienstweg status --json` shows the ones in force (`settings.list`, `settings.origin`).")
	p("")
	p("The template is generated from the same list as this page (`internal/policy/schema.go`,")
	p("`go generate ./internal/policy`). The tests validate it with `xmllint` against")
	p("`internal/policy/testdata/admx-subset.xsd`, a schema written for the part of Microsoft's")
	p("ADMX schema the template uses (Microsoft's own files are not shipped here), and check that")
	p("every string and presentation it refers to exists in both ADML files.")
	p("")
	p("## Settings")
	p("")
	p("| Key | Registry | Type | Default | Person may change | Carried out by |")
	p("|---|---|---|---|---|---|")
	for _, s := range Schema {
		may := "no (IT only)"
		if s.User {
			may = "yes, unless locked"
		}
		p("| `%s` | `%s` | %s | %s | %s | %s |", s.Key, s.RegistryName(), typeText(s), defaultText(s), may, s.UsedBy)
	}
	for _, s := range Schema {
		p("")
		p("### `%s`", s.Key)
		p("")
		p("**%s** / %s", s.Title.De, s.Title.En)
		p("")
		p("- Deutsch: %s", s.Help.De)
		p("- English: %s", s.Help.En)
		if len(s.Choices) > 0 {
			p("- Values:")
			for _, o := range s.Choices {
				p("  - `%s`: %s / %s", o.Value, o.Title.De, o.Title.En)
			}
		}
	}
	return b.Bytes()
}

func typeText(s Setting) string {
	switch s.Kind {
	case Bool:
		return "true/false"
	case Number:
		return fmt.Sprintf("number %d–%d", s.Min, s.Max)
	case Choice:
		var vs []string
		for _, o := range s.Choices {
			vs = append(vs, "`"+o.Value+"`")
		}
		return "one of " + strings.Join(vs, ", ")
	case Text:
		return fmt.Sprintf("text, up to %d characters", s.MaxLen)
	}
	return string(s.Kind)
}

func defaultText(s Setting) string {
	switch s.Key {
	case KeyHelpdeskText:
		return "the profile's helpdesk phone and hours"
	case KeyManagedByOrganization:
		return "the profile's `organisation`"
	case KeyTunnelMode:
		return "the profile's `tunnel.mode`, else `system`"
	}
	if s.Default == "" {
		return "empty"
	}
	return fmt.Sprintf("`%v`", s.Default)
}
