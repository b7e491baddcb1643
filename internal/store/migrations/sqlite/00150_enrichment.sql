-- +goose Up
-- Enrichment sources mirrored by jobs like OSV (internal/source/nvd, epss,
-- kev): what NVD, FIRST's EPSS and CISA's KEV catalogue say about CVE IDs.
-- Findings look them up by the CVE IDs of their alias groups.

-- NVD CVE records (API 2.0 / JSON 2.0 feeds), one row per CVE, updated by
-- lastModified. metrics holds the CVSS metrics, one per line:
-- "<version><TAB><vector><TAB><source><TAB><Primary|Secondary>"; cwes the
-- CWE IDs of the weaknesses, one per line.
CREATE TABLE nvd_cve (
    id             TEXT PRIMARY KEY,
    published      TEXT NOT NULL DEFAULT '',
    last_modified  TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT '',
    description    TEXT NOT NULL DEFAULT '',
    metrics        TEXT NOT NULL DEFAULT '',
    cwes           TEXT NOT NULL DEFAULT ''
);

-- EPSS scores (probability of exploitation in the next 30 days and its
-- percentile among all scored CVEs), replaced as a whole by each sync.
CREATE TABLE epss_score (
    cve         TEXT PRIMARY KEY,
    epss        REAL NOT NULL,
    percentile  REAL NOT NULL
);

-- CISA's catalogue of known exploited vulnerabilities, replaced as a whole.
CREATE TABLE kev_entry (
    cve              TEXT PRIMARY KEY,
    vendor           TEXT NOT NULL DEFAULT '',
    product          TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL DEFAULT '',
    date_added       TEXT NOT NULL DEFAULT '',
    due_date         TEXT NOT NULL DEFAULT '',
    ransomware       TEXT NOT NULL DEFAULT '',
    required_action  TEXT NOT NULL DEFAULT '',
    notes            TEXT NOT NULL DEFAULT ''
);

-- The last sync of each enrichment source: where from, when, what version
-- (EPSS model and score date, KEV catalogue version, newest NVD
-- lastModified), how many records and how many were skipped as malformed.
CREATE TABLE enrichment_state (
    source     TEXT PRIMARY KEY,
    url        TEXT NOT NULL DEFAULT '',
    last_sync  TEXT NOT NULL DEFAULT '',
    version    TEXT NOT NULL DEFAULT '',
    records    INTEGER NOT NULL DEFAULT 0,
    malformed  INTEGER NOT NULL DEFAULT 0
);

-- Assessment types may auto-assess by exploitation: auto_kev (1) takes
-- findings in the KEV catalogue, auto_epss (0-1, -1 for none) those whose
-- EPSS percentile is at least that. The built-in Blocked type blocks known
-- exploited vulnerabilities (nothing happens until the KEV source is on).
ALTER TABLE assess_type ADD COLUMN auto_kev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assess_type ADD COLUMN auto_epss REAL NOT NULL DEFAULT -1;
UPDATE assess_type SET auto_kev = 1 WHERE name = 'Blocked' AND builtin = 1;

-- What recorded findings knew of exploitation when last seen, for
-- "assess --auto --existing".
ALTER TABLE finding ADD COLUMN known_exploited INTEGER NOT NULL DEFAULT 0;
ALTER TABLE finding ADD COLUMN epss_percentile REAL NOT NULL DEFAULT -1;

-- +goose Down
ALTER TABLE finding DROP COLUMN epss_percentile;
ALTER TABLE finding DROP COLUMN known_exploited;
ALTER TABLE assess_type DROP COLUMN auto_epss;
ALTER TABLE assess_type DROP COLUMN auto_kev;
DROP TABLE enrichment_state;
DROP TABLE kev_entry;
DROP TABLE epss_score;
DROP TABLE nvd_cve;
