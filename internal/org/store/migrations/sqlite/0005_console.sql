-- Console accounts of IT and the helpdesk, separate from employees, and
-- their browser sessions (in the database, so any portal instance on it
-- serves any session). Only hashes of session ids are stored.
CREATE TABLE console_accounts(
	name TEXT PRIMARY KEY,
	role TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	totp_secret TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE TABLE console_sessions(
	id_hash TEXT PRIMARY KEY,
	account TEXT NOT NULL REFERENCES console_accounts(name) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions(expires_at);
