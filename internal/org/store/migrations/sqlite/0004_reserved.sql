-- Placeholder for another branch's 0004 (the directory import); the lead
-- replaces it with that migration when merging. It changes nothing.
SELECT 1;
