package policy

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
)

// The ADMX template's names. The registry key is RegistryPath's, without
// the hive: Group Policy's Machine class writes it under HKLM.
const (
	admxNamespace = "Dienstweg.Policies.Dienstweg"
	admxCategory  = "Dienstweg"
	admxSupported = "SUPPORTED_Dienstweg"
	admxKey       = `Software\Policies\Dienstweg`
	admxRevision  = "1.0"
	// ADMXName is the template's file name; ADMLs have the same base.
	ADMXName = "dienstweg.admx"
	ADMLName = "dienstweg.adml"
)

// ADMLCultures are the languages of the ADML files, with the language
// each takes its words from.
var ADMLCultures = []struct{ Culture, Lang string }{{"de-DE", "de"}, {"en-US", "en"}}

const generatedNote = "Generated from internal/policy/schema.go by `go generate ./internal/policy`; do not edit."

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (w Words) in(lang string) string {
	if lang == "de" {
		return w.De
	}
	return w.En
}

// ADMX is the Group Policy template: one Machine policy per setting.
func ADMX() []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p(`<?xml version="1.0" encoding="utf-8"?>`)
	p(`<!-- %s -->`, generatedNote)
	p(`<policyDefinitions xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" revision="%s" schemaVersion="1.0" xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions">`, admxRevision)
	p(`  <policyNamespaces>`)
	p(`    <target prefix="dienstweg" namespace="%s"/>`, admxNamespace)
	p(`  </policyNamespaces>`)
	p(`  <resources minRequiredRevision="%s"/>`, admxRevision)
	p(`  <supportedOn>`)
	p(`    <definitions>`)
	p(`      <definition name="%s" displayName="$(string.%s)"/>`, admxSupported, admxSupported)
	p(`    </definitions>`)
	p(`  </supportedOn>`)
	p(`  <categories>`)
	p(`    <category name="%s" displayName="$(string.%s)"/>`, admxCategory, admxCategory)
	p(`  </categories>`)
	p(`  <policies>`)
	for _, s := range Schema {
		name := s.RegistryName()
		open := fmt.Sprintf(`    <policy name="%s" class="Machine" displayName="$(string.%s)" explainText="$(string.%s_Help)" key="%s"`, name, name, name, esc(admxKey))
		if s.Kind == Bool {
			p(`%s valueName="%s">`, open, name)
		} else {
			p(`%s presentation="$(presentation.%s)">`, open, name)
		}
		p(`      <parentCategory ref="%s"/>`, admxCategory)
		p(`      <supportedOn ref="%s"/>`, admxSupported)
		switch s.Kind {
		case Bool:
			p(`      <enabledValue>`)
			p(`        <decimal value="1"/>`)
			p(`      </enabledValue>`)
			p(`      <disabledValue>`)
			p(`        <decimal value="0"/>`)
			p(`      </disabledValue>`)
		case Choice:
			p(`      <elements>`)
			p(`        <enum id="%s" valueName="%s" required="true">`, name, name)
			for _, o := range s.Choices {
				p(`          <item displayName="$(string.%s_%s)">`, name, o.Value)
				p(`            <value>`)
				p(`              <string>%s</string>`, esc(o.Value))
				p(`            </value>`)
				p(`          </item>`)
			}
			p(`        </enum>`)
			p(`      </elements>`)
		case Number:
			p(`      <elements>`)
			p(`        <decimal id="%s" valueName="%s" required="true" minValue="%d" maxValue="%d"/>`, name, name, s.Min, s.Max)
			p(`      </elements>`)
		case Text:
			p(`      <elements>`)
			p(`        <text id="%s" valueName="%s" required="true" maxLength="%d"/>`, name, name, s.MaxLen)
			p(`      </elements>`)
		}
		p(`    </policy>`)
	}
	p(`  </policies>`)
	p(`</policyDefinitions>`)
	return b.Bytes()
}

// lockNote is what every explain text ends with: what configuring the
// policy does to the person's choice.
var lockNote = Words{
	"Ist diese Richtlinie konfiguriert, gilt ihr Wert und die Person kann ihn in Dienstweg nicht ändern; Dienstweg zeigt ihn als „Verwaltet von …“. Nicht konfiguriert: es gilt die Wahl der Person, sonst das Organisationsprofil, sonst der Standardwert.",
	"When this policy is configured, its value applies and the person cannot change it in Dienstweg, which shows it as \"Managed by …\". Not configured: the person's choice applies, else the organisation profile, else the default.",
}

// ADML is the template's words in lang ("de" or "en").
func ADML(lang string) []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	str := func(id, text string) { p(`      <string id="%s">%s</string>`, id, esc(text)) }
	p(`<?xml version="1.0" encoding="utf-8"?>`)
	p(`<!-- %s -->`, generatedNote)
	p(`<policyDefinitionResources xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" revision="%s" schemaVersion="1.0" xmlns="http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions">`, admxRevision)
	p(`  <displayName>Dienstweg</displayName>`)
	p(`  <description>%s</description>`, esc(Words{"Richtlinien für Dienstweg, das Homeoffice-Programm", "Policies for Dienstweg, the home-office client"}.in(lang)))
	p(`  <resources>`)
	p(`    <stringTable>`)
	str(admxCategory, "Dienstweg")
	str(admxSupported, Words{"Dienstweg 1.0 und neuer", "Dienstweg 1.0 and later"}.in(lang))
	for _, s := range Schema {
		name := s.RegistryName()
		str(name, s.Title.in(lang))
		help := s.Help.in(lang) + "\n\n" + defaultLine(s, lang) + "\n\n" + lockNote.in(lang)
		if s.User {
			help += "\n\n" + Words{"Ohne Richtlinie kann die Person diese Einstellung selbst wählen.", "Without a policy, the person may choose this setting."}.in(lang)
		}
		str(name+"_Help", help)
		for _, o := range s.Choices {
			str(name+"_"+o.Value, o.Title.in(lang))
		}
	}
	p(`    </stringTable>`)
	p(`    <presentationTable>`)
	for _, s := range Schema {
		name := s.RegistryName()
		label := esc(s.Title.in(lang))
		switch s.Kind {
		case Choice:
			def := 0
			for i, o := range s.Choices {
				if o.Value == s.Default {
					def = i
				}
			}
			p(`      <presentation id="%s">`, name)
			p(`        <dropdownList refId="%s" noSort="true" defaultItem="%d">%s</dropdownList>`, name, def, label)
			p(`      </presentation>`)
		case Number:
			p(`      <presentation id="%s">`, name)
			p(`        <decimalTextBox refId="%s" defaultValue="%d">%s</decimalTextBox>`, name, s.Default, label)
			p(`      </presentation>`)
		case Text:
			p(`      <presentation id="%s">`, name)
			p(`        <textBox refId="%s">`, name)
			p(`          <label>%s</label>`, label)
			p(`        </textBox>`)
			p(`      </presentation>`)
		}
	}
	p(`    </presentationTable>`)
	p(`  </resources>`)
	p(`</policyDefinitionResources>`)
	return b.Bytes()
}

// defaultLine says the default in words.
func defaultLine(s Setting, lang string) string {
	prefix := Words{"Standard: ", "Default: "}.in(lang)
	switch s.Kind {
	case Bool:
		if s.Default == true {
			return prefix + Words{"eingeschaltet", "on"}.in(lang)
		}
		return prefix + Words{"ausgeschaltet", "off"}.in(lang)
	case Choice:
		for _, o := range s.Choices {
			if o.Value == s.Default {
				return prefix + o.Title.in(lang)
			}
		}
	case Number:
		return fmt.Sprintf("%s%d (%d–%d)", prefix, s.Default, s.Min, s.Max)
	case Text:
		if s.Default == nil || s.Default == "" {
			return prefix + Words{"leer", "empty"}.in(lang)
		}
	}
	return fmt.Sprintf("%s%v", prefix, s.Default)
}
