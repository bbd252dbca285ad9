package wire

// Settings are the settings IT may set and lock (internal/policy's
// schema), as they apply on this computer, and who manages them.
type Settings struct {
	// ManagedBy is named with every locked setting: "Verwaltet von
	// Stadt Musterstadt".
	ManagedBy    string `json:"managed_by,omitempty"`
	ManagedByURL string `json:"managed_by_url,omitempty"`
	// HelpdeskText says how to reach IT, shown with locked settings.
	HelpdeskText string `json:"helpdesk_text,omitempty"`
	// Origin is where the policy was read (a file or a registry key);
	// "" when IT set none.
	Origin string `json:"origin,omitempty"`
	// Problems are what was ignored in the policy and why.
	Problems []string  `json:"problems,omitempty"`
	List     []Setting `json:"list"`
}

// Setting is one setting's effective value.
type Setting struct {
	Key string `json:"key"`
	// Value is a bool, a number or a string, as the schema says.
	Value any `json:"value"`
	// Source is "policy", "user", "profile" or "default".
	Source string `json:"source"`
	// Locked: IT set it by policy; nobody on this computer changes it.
	Locked bool `json:"locked"`
	// Changeable: the person may change it now (theirs and not locked).
	Changeable bool `json:"changeable"`
}

// Get returns the setting named key, and whether it is listed.
func (s Settings) Get(key string) (Setting, bool) {
	for _, e := range s.List {
		if e.Key == key {
			return e, true
		}
	}
	return Setting{}, false
}

// SettingRequest is the body of PUT /v1/settings: a new value for one
// of the person's settings; a null value removes their choice.
type SettingRequest struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}
