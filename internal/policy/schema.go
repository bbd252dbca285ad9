// Package policy is the one list of settings that IT may set and lock
// (Schema), where their values come from and which one wins (Resolve):
// a value IT sets by policy is locked; below it the person's own choice,
// then the organisation profile, then the default. It reads the policy
// from /etc/dienstweg/policy.json on Linux and from
// HKLM\SOFTWARE\Policies\Dienstweg on Windows, and generates the ADMX
// template and docs/policy.md from the same list (`go generate`).
package policy

//go:generate go run ./gen -root ../..

import (
	"fmt"
	"strconv"
	"strings"
)

// RegistryPath is where Group Policy (the ADMX template) writes the
// settings on Windows, under HKEY_LOCAL_MACHINE. Only administrators
// may write there.
const RegistryPath = `SOFTWARE\Policies\Dienstweg`

// Kind is a setting's type.
type Kind string

// The kinds. Registry: Bool and Number are REG_DWORD, Choice and Text
// REG_SZ; policy.json: JSON true/false, numbers and strings.
const (
	Bool   Kind = "bool"
	Choice Kind = "choice"
	Number Kind = "number"
	Text   Kind = "text"
)

// Words is a text in both languages.
type Words struct{ De, En string }

// Setting is one setting IT may set and lock.
type Setting struct {
	// Key is the name in policy.json, in the user settings, in the API
	// and on the command line; the registry value is its RegistryName.
	Key  string
	Kind Kind
	// Default applies when neither policy, the person nor the profile
	// says anything: a bool, an int or a string, as Kind says.
	Default any
	// Choices are the values a Choice may take, with their names.
	Choices []Option
	// Min and Max bound a Number.
	Min, Max int
	// MaxLen bounds a Text (the ADMX text box takes up to 1023).
	MaxLen int
	// User: the person may change it in Dienstweg's settings, unless
	// policy locks it. Otherwise only IT sets it.
	User bool
	// UsedBy names the code that carries the value out, for the
	// administrator's reference and for the one who wires a new key.
	UsedBy string
	// Title is the short name; Help says what it does (ADMX explain
	// text, docs/policy.md, the settings window).
	Title, Help Words
}

// Option is one value of a Choice.
type Option struct {
	Value string
	Title Words
}

// The keys, for the code that reads them.
const (
	KeyTunnelMode            = "tunnel_mode"
	KeyAutoStart             = "auto_start"
	KeyStartOutsideHours     = "start_outside_office_hours"
	KeyOfficeCheck           = "office_check"
	KeyAllowStartInOffice    = "allow_start_in_office"
	KeyExpiryWarning         = "expiry_warning_minutes"
	KeyLanguage              = "language"
	KeyUpdateCheckHours      = "update_check_hours"
	KeySafeModeOnScreenShare = "safe_mode_on_screen_share"
	KeySafeModeAlways        = "safe_mode_always"
	KeyAllowReenroll         = "allow_reenroll"
	KeyHelpdeskText          = "helpdesk_text"
	KeyManagedByOrganization = "managed_by_organization_name"
	KeyManagedByURL          = "managed_by_url"
)

// Language choices; LanguageSystem follows the computer's language.
const (
	LanguageSystem = "system"
	LanguageDE     = "de"
	LanguageEN     = "en"
)

// Schema is every setting, in the order the reference and the
// windows show them.
var Schema = []Setting{
	{
		Key: KeyTunnelMode, Kind: Choice, Default: "system", UsedBy: "agent tunnelChooser (profile tunnel.mode)",
		Choices: []Option{
			{"system", Words{"Für alle Programme (empfohlen): braucht den Dienstweg-Hilfsdienst", "For all programs (recommended): needs the Dienstweg helper service"}},
			{"auto", Words{"Automatisch: für alle Programme, wenn der Dienstweg-Hilfsdienst antwortet, sonst nur über den Proxy", "Automatic: for all programs when the Dienstweg helper service answers, else proxy only"}},
			{"userspace", Words{"Nur über den Proxy: nur Programme, die den Proxy von Dienstweg nutzen, erreichen das Büronetz", "Proxy only: only programs set to use Dienstweg's proxy reach the office network"}},
		},
		Title: Words{"Art der sicheren Verbindung", "How the secure connection runs"},
		Help: Words{
			"Legt fest, wie die sichere Verbindung ins Büronetz läuft. „Für alle Programme“ braucht den Dienstweg-Hilfsdienst (dienstweg helper); ohne ihn startet das Homeoffice nicht. Ohne Richtlinie gilt tunnel.mode aus dem Organisationsprofil.",
			"Sets how the secure connection to the office network runs. \"For all programs\" needs the Dienstweg helper service (dienstweg helper); without it, home office does not start. Without a policy, tunnel.mode from the organisation profile applies.",
		},
	},
	{
		Key: KeyAutoStart, Kind: Bool, Default: false, User: true, UsedBy: "agent.Config.AutoStart",
		Title: Words{"Beim Anmelden nach dem Code fragen", "Ask for the code at sign-in"},
		Help: Words{
			"Wenn eingeschaltet, fragt Dienstweg nach dem Anmelden am Computer außerhalb des Büros gleich nach dem Code aus der Authenticator-App und startet das Homeoffice.",
			"When on, Dienstweg asks for the confirmation code right after signing in to the computer outside the office and starts home office.",
		},
	},
	{
		Key: KeyStartOutsideHours, Kind: Bool, Default: true, UsedBy: "situation.Judge (verdict outside_hours), agent followHours and autoStartFor; the hours come from the portal's session answer (docs/working-hours.md)",
		Title: Words{"Start außerhalb der Arbeitszeit erlauben", "Allow starting outside working hours"},
		Help: Words{
			"Wenn ausgeschaltet, bietet Dienstweg „Homeoffice starten“ außerhalb der Arbeitszeit nicht an, sagt, wann Homeoffice wieder möglich ist, und fragt auch beim Anmelden nicht nach dem Code. Die Arbeitszeit je Gruppe legt das Portal fest (--hours); es prüft sie bei jedem Start ohnehin. Solange Dienstweg die Arbeitszeit nicht kennt (Portal nicht erreichbar, Portal ohne Regel), bietet es den Start an.",
			"When off, Dienstweg does not offer \"Start home office\" outside working hours, says when home office is possible again, and does not ask for the code at sign-in either. The portal sets the working hours per group (--hours) and checks them at every start in any case. While Dienstweg does not know the working hours (portal unreachable, no rule for the person), it offers the start.",
		},
	},
	{
		Key: KeyOfficeCheck, Kind: Bool, Default: true, UsedBy: "agent newOffice (profile office_check; off: no check)",
		Title: Words{"Erkennen, ob der Computer im Büro ist", "Recognise when the computer is in the office"},
		Help: Words{
			"Prüft über eine geschützte Verbindung zu einem Server im Büronetz, den das Organisationsprofil nennt, ob der Computer im Büro ist. Dann braucht es kein Homeoffice.",
			"Checks through a protected connection to a server in the office network, named in the organisation profile, whether the computer is in the office. Then no home office is needed.",
		},
	},
	{
		Key: KeyAllowStartInOffice, Kind: Bool, Default: false, UsedBy: "agent.Config.AllowStartInOffice",
		Title: Words{"Homeoffice auch im Büro anbieten", "Offer home office in the office too"},
		Help: Words{
			"Wenn eingeschaltet, bietet Dienstweg „Homeoffice starten“ auch an, wenn der Computer im Büro ist.",
			"When on, Dienstweg offers \"Start home office\" even when the computer is in the office.",
		},
	},
	{
		Key: KeyExpiryWarning, Kind: Number, Default: 15, Min: 0, Max: 120, User: true, UsedBy: "agent.Config.ExpiryWarning (session.Options.WarnBefore)",
		Title: Words{"Hinweis vor Ende der Freigabe für heute (Minuten)", "Notice before today's authorisation ends (minutes)"},
		Help: Words{
			"So viele Minuten vor dem Ende der Freigabe für den Tag erscheint ein Hinweis mit „Verlängern“. 0 schaltet den Hinweis aus. Gilt ab dem nächsten Start von Dienstweg.",
			"This many minutes before the day's authorisation ends, a notice with \"Extend\" appears. 0 turns the notice off. Applies from the next start of Dienstweg.",
		},
	},
	{
		Key: KeyLanguage, Kind: Choice, Default: LanguageSystem, User: true, UsedBy: "agent.Config.Lang (applies at the next start)",
		Choices: []Option{
			{LanguageSystem, Words{"Wie der Computer", "As the computer"}},
			{LanguageDE, Words{"Deutsch", "Deutsch"}},
			{LanguageEN, Words{"English", "English"}},
		},
		Title: Words{"Sprache", "Language"},
		Help: Words{
			"Die Sprache von Dienstweg. Sie gilt ab dem nächsten Start von Dienstweg.",
			"Dienstweg's language. It applies from the next start of Dienstweg.",
		},
	},
	{
		Key: KeyUpdateCheckHours, Kind: Number, Default: 6, Min: 1, Max: 168, UsedBy: "update.Config.Interval",
		Title: Words{"Abstand der Suche nach Updates (Stunden)", "Time between update checks (hours)"},
		Help: Words{
			"So oft sucht Dienstweg im Hintergrund nach einer neuen Version, mit zufälliger Streuung von ±25 %, damit nicht alle Geräte gleichzeitig fragen. Ein Update unterbricht nie ein laufendes Homeoffice ohne Rückfrage.",
			"How often Dienstweg looks for a new version in the background, spread by ±25 % at random so that not every device asks at once. An update never interrupts a running home-office session without asking.",
		},
	},
	{
		Key: KeySafeModeOnScreenShare, Kind: Bool, Default: true, User: true, UsedBy: "agent followScreenSharing",
		Title: Words{"Geheimes ausblenden, wenn der Bildschirm geteilt wird", "Hide secrets when the screen is shared"},
		Help: Words{
			"Wenn ein Programm zum Teilen des Bildschirms startet (z. B. TeamViewer), blendet Dienstweg Codes, Schlüssel und den Benutzernamen aus.",
			"When a screen-sharing program starts (e.g. TeamViewer), Dienstweg hides codes, keys and the user name.",
		},
	},
	{
		Key: KeySafeModeAlways, Kind: Bool, Default: false, UsedBy: "agent SetSafeMode",
		Title: Words{"Geheimes immer ausblenden", "Always hide secrets"},
		Help: Words{
			"Dienstweg zeigt nie QR-Code, Schlüssel oder den Benutzernamen an; „Bildschirm wird geteilt“ lässt sich nicht ausschalten.",
			"Dienstweg never shows the QR code, keys or the user name; \"Screen is shared\" cannot be turned off.",
		},
	},
	{
		Key: KeyAllowReenroll, Kind: Bool, Default: true, UsedBy: "agent Enroll (wizard action restart)",
		Title: Words{"Computer neu einrichten erlauben", "Allow setting the computer up again"},
		Help: Words{
			"Wenn ausgeschaltet, kann die Person einen eingerichteten Computer nicht selbst neu einrichten (z. B. für ein neues Smartphone); das macht dann der IT-Service.",
			"When off, the person cannot set up an already set-up computer again (e.g. for a new smartphone); the IT service does that instead.",
		},
	},
	{
		Key: KeyHelpdeskText, Kind: Text, Default: "", MaxLen: 200, UsedBy: "status snapshot (settings.helpdesk_text), locked notes",
		Title: Words{"So erreichen Sie den IT-Service", "How to reach the IT service"},
		Help: Words{
			"Wie man den IT-Service erreicht, z. B. „IT-Service, Tel. 0123 456-789, Mo–Fr 7–16 Uhr“. Er steht bei jeder festgelegten Einstellung. Ohne Richtlinie: Telefon und Zeiten aus dem Organisationsprofil.",
			"How to reach IT, e.g. \"IT service, phone 0123 456-789, Mon–Fri 7–16\". It is shown with every locked setting. Without a policy: phone and hours from the organisation profile.",
		},
	},
	{
		Key: KeyManagedByOrganization, Kind: Text, Default: "", MaxLen: 100, UsedBy: "status snapshot (settings.managed_by), locked notes",
		Title: Words{"Verwaltet von (Name)", "Managed by (name)"},
		Help: Words{
			"Der Name, der bei festgelegten Einstellungen steht: „Verwaltet von Stadt Musterstadt“. Ohne Richtlinie: der Name aus dem Organisationsprofil.",
			"The name shown with locked settings: \"Managed by City of Musterstadt\". Without a policy: the name from the organisation profile.",
		},
	},
	{
		Key: KeyManagedByURL, Kind: Text, Default: "", MaxLen: 300, UsedBy: "status snapshot (settings.managed_by_url)",
		Title: Words{"Verwaltet von (Internetadresse)", "Managed by (web address)"},
		Help: Words{
			"Eine https-Adresse mit Hilfe der IT, die bei festgelegten Einstellungen genannt wird.",
			"An https address with IT's help pages, named with locked settings.",
		},
	},
}

// Lookup returns the setting named key.
func Lookup(key string) (Setting, bool) {
	for _, s := range Schema {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// RegistryName is the value's name under HKLM\SOFTWARE\Policies\Dienstweg:
// the key in CamelCase, as Windows policies spell them.
func (s Setting) RegistryName() string {
	var b strings.Builder
	for _, part := range strings.Split(s.Key, "_") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// Check converts v (as JSON or the registry gives it) to the setting's
// type and checks its range: a bool, an int or a string.
func (s Setting) Check(v any) (any, error) {
	switch s.Kind {
	case Bool:
		switch b := v.(type) {
		case bool:
			return b, nil
		case uint64: // a REG_DWORD
			if b <= 1 {
				return b == 1, nil
			}
		}
		return nil, fmt.Errorf("%s must be true or false, not %v", s.Key, v)
	case Number:
		var n int64
		switch x := v.(type) {
		case float64:
			if x != float64(int64(x)) {
				return nil, fmt.Errorf("%s must be a whole number, not %v", s.Key, x)
			}
			n = int64(x)
		case int:
			n = int64(x)
		case uint64:
			if x > 1<<31 {
				return nil, fmt.Errorf("%s: %d is out of range", s.Key, x)
			}
			n = int64(x)
		default:
			return nil, fmt.Errorf("%s must be a number, not %v", s.Key, v)
		}
		if n < int64(s.Min) || n > int64(s.Max) {
			return nil, fmt.Errorf("%s must be from %d to %d, not %d", s.Key, s.Min, s.Max, n)
		}
		return int(n), nil
	case Choice:
		str, ok := v.(string)
		if ok {
			for _, o := range s.Choices {
				if o.Value == str {
					return str, nil
				}
			}
		}
		return nil, fmt.Errorf("%s must be one of %s, not %v", s.Key, strings.Join(s.choiceValues(), ", "), v)
	case Text:
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s must be text, not %v", s.Key, v)
		}
		if n := len([]rune(str)); n > s.MaxLen {
			return nil, fmt.Errorf("%s is %d characters long; at most %d", s.Key, n, s.MaxLen)
		}
		if s.Key == KeyManagedByURL && str != "" && !strings.HasPrefix(str, "https://") {
			return nil, fmt.Errorf("%s must start with https://", s.Key)
		}
		return str, nil
	}
	return nil, fmt.Errorf("%s has unknown kind %q", s.Key, s.Kind)
}

func (s Setting) choiceValues() []string {
	var vs []string
	for _, o := range s.Choices {
		vs = append(vs, o.Value)
	}
	return vs
}

// Parse reads a value typed by a person (command line) for the setting.
func (s Setting) Parse(text string) (any, error) {
	switch s.Kind {
	case Bool:
		switch strings.ToLower(strings.TrimSpace(text)) {
		case "true", "on", "yes", "ja", "an", "1":
			return true, nil
		case "false", "off", "no", "nein", "aus", "0":
			return false, nil
		}
		return nil, fmt.Errorf("%s must be on or off, not %q", s.Key, text)
	case Number:
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil {
			return nil, fmt.Errorf("%s must be a number, not %q", s.Key, text)
		}
		return s.Check(n)
	default:
		return s.Check(text)
	}
}
