package policy

// TitleKey is the translation key of a setting's title in the windows.
func TitleKey(key string) string { return "settings." + key }

// SourceKey is the translation key naming where a value came from.
func SourceKey(source string) string { return "settings.source." + source }

// TranslationKeys lists the keys the client builds from settings: the
// title of each one the person may change, and each source's name.
func TranslationKeys() []string {
	var keys []string
	for _, s := range Schema {
		if s.User {
			keys = append(keys, TitleKey(s.Key))
		}
	}
	for _, src := range []Source{FromPolicy, FromUser, FromProfile, FromDefault} {
		keys = append(keys, SourceKey(string(src)))
	}
	return keys
}
