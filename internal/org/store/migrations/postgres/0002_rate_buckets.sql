-- Token buckets for per-source limits (tat: the GCRA's theoretical
-- arrival time in Unix milliseconds), as SQLite's 0002.
CREATE TABLE rate_buckets(key TEXT PRIMARY KEY, tat BIGINT NOT NULL);
