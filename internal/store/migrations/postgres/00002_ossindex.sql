-- +goose Up
-- OSS Index is not mirrored: components are asked about as they are
-- scanned and the answers are cached here, one row per coordinate (the
-- minimal PURL sent), with the IDs of the vulnerabilities reported for it.
-- vuln_ids is a JSON array of ossindex_vulnerability ids; fetched_at
-- (RFC 3339, UTC) drives the cache TTL.
CREATE TABLE ossindex_component (
    coordinate  TEXT PRIMARY KEY,
    fetched_at  TEXT NOT NULL,
    vuln_ids    TEXT NOT NULL DEFAULT '[]'
);

-- Vulnerabilities reported by OSS Index, converted to OSV records (source
-- OSSINDEX). data is the OSV JSON document compressed with raw DEFLATE,
-- like advisory.data.
CREATE TABLE ossindex_vulnerability (
    id          TEXT PRIMARY KEY,
    fetched_at  TEXT NOT NULL,
    data        BYTEA NOT NULL
);

-- +goose Down
DROP TABLE ossindex_vulnerability;
DROP TABLE ossindex_component;
