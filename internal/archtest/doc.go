// Package archtest holds only a test: it keeps the client and the
// organisation's side apart and the GUI out of the client binary, by
// checking the import graph that `go list` reports. See arch_test.go.
package archtest
