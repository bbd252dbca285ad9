package store

import "slices"

// userSource stores an empty source as SourceManual, what `user add`
// and every user from before sources were recorded are.
func userSource(s string) string {
	if s == "" {
		return SourceManual
	}
	return s
}

// sortedIDs sorts device IDs, so both stores answer alike.
func sortedIDs(ids []string) []string {
	slices.Sort(ids)
	return ids
}
