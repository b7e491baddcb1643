-- +goose Up
-- The browsing index files known malicious packages (OSV MAL- records,
-- malicious-packages origins, CWE-506) under their own severity category,
-- MALICIOUS. Empty it so that the advisory index job rebuilds every entry
-- (it does at start-up and after each mirror).
DELETE FROM advisory_summary;

-- +goose Down
DELETE FROM advisory_summary;
