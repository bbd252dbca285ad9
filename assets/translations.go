package assets

import "embed"

// Translations holds one flat JSON file per language (de.json, en.json),
// in the format of Fyne's lang package. The ui role hands the directory to
// lang.AddTranslationsFS; the agent and the command line read the same files
// through internal/i18n, so every process speaks with one set of words.
//
//go:embed translations/*.json
var Translations embed.FS

// TranslationsDir is the directory inside Translations.
const TranslationsDir = "translations"
