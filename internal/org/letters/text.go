package letters

import (
	"fmt"
	"strings"
	"time"
)

// text is a letter's wording in one language. The words are those of the
// app (docs/glossary.md): Computer, Aktivierungscode, Authenticator-App,
// IT-Service, Homeoffice.
type text struct {
	senderLine, subject, greeting, intro string
	userLabel, codeLabel, validLabel     string
	needTitle                            string
	need                                 []string
	stepsTitle                           string
	steps                                []string
	helpTitle, helpLead                  string
	keepSafe                             string
	months                               [12]string
	dateFormat, timeFormat               string
	phoneWord, hoursWord, emailWord      string
}

var texts = map[string]text{
	"de": {
		senderLine: "IT-Service",
		subject:    "Ihr Zugang für das Homeoffice",
		greeting:   "Guten Tag %s,",
		intro: "mit diesem Brief richten Sie Ihren Computer für das Homeoffice ein. " +
			"Das dauert etwa 10 Minuten. Sie machen es nur einmal. Danach starten Sie " +
			"das Homeoffice jeden Morgen mit einem Klick und einem Code.",
		userLabel:  "Benutzername",
		codeLabel:  "Aktivierungscode",
		validLabel: "Gültig bis",
		needTitle:  "Das brauchen Sie",
		need: []string{
			"Ihren Computer von der IT, mit Internet (zum Beispiel Ihr WLAN zu Hause).",
			"Ihr Smartphone mit einer Authenticator-App, zum Beispiel „Microsoft Authenticator“, " +
				"„Google Authenticator“ oder „FreeOTP“. Installieren Sie die App vorher aus dem App Store " +
				"oder Play Store.",
			"Diesen Brief.",
		},
		stepsTitle: "So geht es",
		steps: []string{
			"Schalten Sie den Computer ein und melden Sie sich an. Das Fenster „Einrichtung“ " +
				"von Dienstweg öffnet sich von selbst.",
			"Geben Sie Ihren Benutzernamen und den Aktivierungscode aus diesem Brief ein.",
			"Öffnen Sie die Authenticator-App und scannen Sie den QR-Code auf dem Bildschirm.",
			"Geben Sie den Code mit 6 Ziffern ein, den die App danach zeigt. Fertig.",
		},
		helpTitle: "Fragen?",
		helpLead:  "Ihr IT-Service hilft Ihnen gern",
		keepSafe: "Bitte bewahren Sie diesen Brief sicher auf und geben Sie den Aktivierungscode niemandem weiter. " +
			"Er gilt nur einmal und nur bis %s. Ist er abgelaufen, erhalten Sie vom IT-Service einen neuen.",
		months: [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli",
			"August", "September", "Oktober", "November", "Dezember"},
		dateFormat: "%d. %s %d",
		timeFormat: "%s, %02d:%02d Uhr",
		phoneWord:  "Telefon",
		hoursWord:  "erreichbar",
		emailWord:  "E-Mail",
	},
	"en": {
		senderLine: "IT service",
		subject:    "Your access for working from home",
		greeting:   "Dear %s,",
		intro: "with this letter you set up your computer for home office. It takes about " +
			"10 minutes, and you do it only once. After that you start home office every " +
			"morning with one click and a code.",
		userLabel:  "User name",
		codeLabel:  "Activation code",
		validLabel: "Valid until",
		needTitle:  "What you need",
		need: []string{
			"Your computer from IT, with internet (for example your Wi-Fi at home).",
			"Your smartphone with an authenticator app, for example \"Microsoft Authenticator\", " +
				"\"Google Authenticator\" or \"FreeOTP\". Install the app beforehand from the App Store " +
				"or Play Store.",
			"This letter.",
		},
		stepsTitle: "How it works",
		steps: []string{
			"Switch the computer on and sign in. Dienstweg's \"Setup\" window opens by itself.",
			"Enter your user name and the activation code from this letter.",
			"Open the authenticator app and scan the QR code on the screen.",
			"Enter the 6-digit code the app then shows. Done.",
		},
		helpTitle: "Questions?",
		helpLead:  "Your IT service is glad to help",
		keepSafe: "Please keep this letter safe and do not give the activation code to anyone. " +
			"It works only once and only until %s. If it has expired, the IT service gives you a new one.",
		months: [12]string{"January", "February", "March", "April", "May", "June", "July",
			"August", "September", "October", "November", "December"},
		dateFormat: "%d %s %d",
		timeFormat: "%s, %02d:%02d",
		phoneWord:  "Phone",
		hoursWord:  "hours",
		emailWord:  "Email",
	},
}

// date is a day written out, "30. November 2026".
func (t text) date(d time.Time) string {
	return fmt.Sprintf(t.dateFormat, d.Day(), t.months[d.Month()-1], d.Year())
}

// dateTime is a day and its clock time, "14. Dezember 2026, 17:00 Uhr".
func (t text) dateTime(d time.Time) string {
	return fmt.Sprintf(t.timeFormat, t.date(d), d.Hour(), d.Minute())
}

// help names the IT service's contact from the organisation profile.
func (t text) help(from Sender) string {
	var parts []string
	if from.Phone != "" {
		s := t.phoneWord + " " + from.Phone
		if from.Hours != "" {
			s += " (" + t.hoursWord + " " + from.Hours + ")"
		}
		parts = append(parts, s)
	}
	if from.Email != "" {
		parts = append(parts, t.emailWord+" "+from.Email)
	}
	if len(parts) == 0 {
		return t.helpLead + "."
	}
	return t.helpLead + ": " + strings.Join(parts, ", ") + "."
}
