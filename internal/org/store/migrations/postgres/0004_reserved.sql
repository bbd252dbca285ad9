-- Placeholder for the directory import's 0004 (s4-directory); the lead
-- replaces it with that migration when merging. It changes nothing.
SELECT 1;
