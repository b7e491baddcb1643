-- +goose Up
-- The browsing index shows each advisory's severity as scans do: from its
-- own CVSS vector, else from the other mirrored records of its alias group
-- or NVD (server/catalog resolves it after every index refresh and
-- enrichment sync). own_* keep what the record itself says;
-- severity_from names the record (or CVE, for NVD) the severity came from.
ALTER TABLE advisory_summary ADD COLUMN own_severity TEXT NOT NULL DEFAULT '';
ALTER TABLE advisory_summary ADD COLUMN own_score DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE advisory_summary ADD COLUMN own_cvss INTEGER NOT NULL DEFAULT 0;
ALTER TABLE advisory_summary ADD COLUMN severity_from TEXT NOT NULL DEFAULT '';
-- Rebuilt by the advisory index job (at start-up and after each mirror).
DELETE FROM advisory_summary;

-- +goose Down
ALTER TABLE advisory_summary DROP COLUMN severity_from;
ALTER TABLE advisory_summary DROP COLUMN own_cvss;
ALTER TABLE advisory_summary DROP COLUMN own_score;
ALTER TABLE advisory_summary DROP COLUMN own_severity;
