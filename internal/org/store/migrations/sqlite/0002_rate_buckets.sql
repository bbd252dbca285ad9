-- Token buckets for per-source limits (tat: the GCRA's theoretical
-- arrival time in Unix milliseconds). Failures and locks now count per
-- factor ("activation:", "confirm:", "session:"); the shared "user:"
-- counters of schema 1 mean nothing any more.
CREATE TABLE rate_buckets(key TEXT PRIMARY KEY, tat INTEGER NOT NULL) WITHOUT ROWID;
DELETE FROM auth_failures WHERE subject LIKE 'user:%';
DELETE FROM auth_locks WHERE subject LIKE 'user:%';
