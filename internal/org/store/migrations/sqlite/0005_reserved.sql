-- Placeholder for another branch's 0005 (the web console); the lead
-- replaces it with that migration when merging. It changes nothing.
SELECT 1;
