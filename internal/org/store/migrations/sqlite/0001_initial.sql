-- The first schema: users, codes, enrollments, devices, announcements,
-- releases, TOTP steps, failures and locks.
CREATE TABLE users(
	name TEXT PRIMARY KEY,
	display_name TEXT NOT NULL,
	groups_json TEXT NOT NULL DEFAULT '[]',
	created_at INTEGER NOT NULL,
	totp_secret TEXT NOT NULL DEFAULT '',
	enrolled_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE activation_codes(
	user TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
	hash TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE enrollments(
	id_hash TEXT PRIMARY KEY,
	user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	secret TEXT NOT NULL,
	code_hash TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	confirmed_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX enrollments_user ON enrollments(user);
CREATE TABLE totp_steps(
	user TEXT NOT NULL,
	step INTEGER NOT NULL,
	used_at INTEGER NOT NULL,
	PRIMARY KEY(user, step)
) WITHOUT ROWID;
CREATE TABLE auth_failures(subject TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX auth_failures_subject ON auth_failures(subject, at);
CREATE TABLE auth_locks(subject TEXT PRIMARY KEY, until INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE devices(
	id TEXT PRIMARY KEY,
	user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	name TEXT NOT NULL DEFAULT '',
	public_key TEXT NOT NULL,
	credential_hash TEXT NOT NULL UNIQUE,
	enrollment_hash TEXT NOT NULL UNIQUE,
	host INTEGER NOT NULL UNIQUE,
	address TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	authorised_until INTEGER NOT NULL DEFAULT 0,
	last_seen INTEGER NOT NULL DEFAULT 0,
	revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX devices_public_key ON devices(public_key);
CREATE INDEX devices_authorised ON devices(authorised_until);
CREATE TABLE announcements(
	id TEXT PRIMARY KEY,
	severity TEXT NOT NULL,
	title_de TEXT NOT NULL,
	title_en TEXT NOT NULL,
	body_de TEXT NOT NULL,
	body_en TEXT NOT NULL,
	valid_from INTEGER NOT NULL,
	valid_until INTEGER NOT NULL,
	audience_json TEXT NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE TABLE releases(
	channel TEXT PRIMARY KEY,
	manifest BLOB NOT NULL,
	signature BLOB NOT NULL,
	published_at INTEGER NOT NULL
);
CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta(key, value) VALUES('announcements_revision', 0);
