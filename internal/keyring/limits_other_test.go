//go:build !windows

package keyring_test

// largestSecret is the size the contract stores and reads back; the
// Secret Service and the Keychain take far more than any Dienstweg
// secret (a key or a token of under 100 bytes).
const largestSecret = 4096
