-- The first schema, as SQLite's 0001: users, codes, enrollments, devices,
-- announcements, releases, TOTP steps, failures and locks. Times are Unix
-- seconds (0: never), as in the SQLite store, so both behave alike.
CREATE TABLE users(
	name TEXT PRIMARY KEY,
	display_name TEXT NOT NULL,
	groups TEXT[] NOT NULL DEFAULT '{}',
	created_at BIGINT NOT NULL,
	totp_secret TEXT NOT NULL DEFAULT '',
	enrolled_at BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE activation_codes(
	user_name TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
	hash TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE enrollments(
	id_hash TEXT PRIMARY KEY,
	user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	secret TEXT NOT NULL,
	code_hash TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	confirmed_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX enrollments_user ON enrollments(user_name);
-- user_name here is a TOTP key name (e.g. "anna#k"), not a users row.
CREATE TABLE totp_steps(
	user_name TEXT NOT NULL,
	step BIGINT NOT NULL,
	used_at BIGINT NOT NULL,
	PRIMARY KEY(user_name, step)
);
CREATE TABLE auth_failures(subject TEXT NOT NULL, at BIGINT NOT NULL);
CREATE INDEX auth_failures_subject ON auth_failures(subject, at);
CREATE TABLE auth_locks(subject TEXT PRIMARY KEY, until BIGINT NOT NULL);
CREATE TABLE devices(
	id TEXT PRIMARY KEY,
	user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	name TEXT NOT NULL DEFAULT '',
	public_key TEXT NOT NULL,
	credential_hash TEXT NOT NULL UNIQUE,
	enrollment_hash TEXT NOT NULL UNIQUE,
	host BIGINT NOT NULL UNIQUE,
	address TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	authorised_until BIGINT NOT NULL DEFAULT 0,
	last_seen BIGINT NOT NULL DEFAULT 0,
	revoked_at BIGINT NOT NULL DEFAULT 0
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
	valid_from BIGINT NOT NULL,
	valid_until BIGINT NOT NULL,
	audience TEXT[] NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE TABLE releases(
	channel TEXT PRIMARY KEY,
	manifest BYTEA NOT NULL,
	signature BYTEA NOT NULL,
	published_at BIGINT NOT NULL
);
CREATE TABLE meta(key TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO meta(key, value) VALUES('announcements_revision', 0);
