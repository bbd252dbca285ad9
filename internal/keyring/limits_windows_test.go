package keyring_test

// largestSecret is the size the contract stores and reads back: the
// Credential Manager holds at most CRED_MAX_CREDENTIAL_BLOB_SIZE (5*512)
// bytes per credential, far more than any Dienstweg secret needs.
const largestSecret = 2560
