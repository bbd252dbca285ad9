-- Where each user comes from ('manual': `user add`; 'ldap', 'csv': the
-- directory import, which manages only its own users) and when a user
-- was disabled (0: enabled), e.g. on leaving the directory.
ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE users ADD COLUMN disabled_at BIGINT NOT NULL DEFAULT 0;
