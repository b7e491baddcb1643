-- +goose Up
-- Assessment types: the built-in Ignore/Caution/Blocked and custom ones.
-- effect is allow, warn or block. auto_min/auto_max are the inclusive
-- auto-assessment CVSS range in tenths (37 = 3.7), -1 when the type does not
-- auto-assess. expiry_seconds 0 means assessments of this type never expire.
CREATE TABLE assess_type (
    name            TEXT PRIMARY KEY,
    effect          TEXT NOT NULL,
    builtin         INTEGER NOT NULL DEFAULT 0,
    auto_min        INTEGER NOT NULL DEFAULT -1,
    auto_max        INTEGER NOT NULL DEFAULT -1,
    expiry_seconds  BIGINT NOT NULL DEFAULT 0,
    description     TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL DEFAULT ''
);
-- ProGet's recommended defaults: Low ignored for 90 days, High cautioned and
-- Critical blocked for 30 days, Medium left unassessed for a person.
INSERT INTO assess_type (name, effect, builtin, auto_min, auto_max, expiry_seconds, description) VALUES
    ('Ignore',  'allow', 1,  1,  39, 7776000, 'Not applicable or irrelevant: the package may be used'),
    ('Caution', 'warn',  1, 70,  89, 2592000, 'Use with care: the package may be used, with a warning'),
    ('Blocked', 'block', 1, 90, 100, 2592000, 'Too severe to allow use: the package is refused');

-- The current assessment of one vulnerability ID in one scope ("global",
-- "project:NAME", "feed:NAME"). It applies to every finding whose alias group
-- contains vuln_id. expires_at '' means never.
CREATE TABLE assessment (
    vuln_id     TEXT NOT NULL,
    scope       TEXT NOT NULL,
    type_name   TEXT NOT NULL REFERENCES assess_type (name),
    comment     TEXT NOT NULL DEFAULT '',
    assessed_by TEXT NOT NULL DEFAULT '',
    assessed_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL DEFAULT '',
    auto        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (vuln_id, scope)
);
CREATE INDEX assessment_by_expiry ON assessment (expires_at);

-- Append-only audit trail of assessment changes. action: set, auto, import,
-- clear, expire. The row carries the assessment as it was after (set, auto,
-- import) or before (clear, expire) the change.
CREATE TABLE assessment_history (
    seq         BIGSERIAL PRIMARY KEY,
    vuln_id     TEXT NOT NULL,
    scope       TEXT NOT NULL,
    action      TEXT NOT NULL,
    type_name   TEXT NOT NULL DEFAULT '',
    comment     TEXT NOT NULL DEFAULT '',
    assessed_by TEXT NOT NULL DEFAULT '',
    assessed_at TEXT NOT NULL DEFAULT '',
    expires_at  TEXT NOT NULL DEFAULT '',
    auto        INTEGER NOT NULL DEFAULT 0,
    actor       TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL
);
CREATE INDEX assessment_history_by_vuln ON assessment_history (vuln_id, seq);

-- Policy for unassessed vulnerabilities per scope: allow, warn or block.
CREATE TABLE assess_policy (
    scope       TEXT PRIMARY KEY,
    effect      TEXT NOT NULL,
    set_by      TEXT NOT NULL DEFAULT '',
    set_at      TEXT NOT NULL DEFAULT ''
);

-- A finding: one vulnerability (alias group) of one package version seen in
-- one scope. closed_at is set when no source reports it any more; closed
-- findings are history and decide nothing.
CREATE TABLE finding (
    id          BIGSERIAL PRIMARY KEY,
    scope       TEXT NOT NULL,
    purl        TEXT NOT NULL,
    ecosystem   TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL DEFAULT '',
    version     TEXT NOT NULL DEFAULT '',
    vuln_id     TEXT NOT NULL,
    rating      TEXT NOT NULL DEFAULT '',
    score       INTEGER NOT NULL DEFAULT -1,
    summary     TEXT NOT NULL DEFAULT '',
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    closed_at   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX finding_by_package ON finding (scope, purl);

-- Every ID and alias of a finding's group, for lookups by any of them.
CREATE TABLE finding_vuln (
    finding_id  BIGINT NOT NULL REFERENCES finding (id) ON DELETE CASCADE,
    vuln_id     TEXT NOT NULL,
    PRIMARY KEY (finding_id, vuln_id)
);
CREATE INDEX finding_vuln_by_id ON finding_vuln (vuln_id);

-- Which sources reported a finding, and when; ended_at is set when a source
-- stops reporting it.
CREATE TABLE finding_source (
    finding_id  BIGINT NOT NULL REFERENCES finding (id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    ended_at    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (finding_id, source)
);

-- +goose Down
DROP TABLE finding_source;
DROP TABLE finding_vuln;
DROP TABLE finding;
DROP TABLE assess_policy;
DROP TABLE assessment_history;
DROP TABLE assessment;
DROP TABLE assess_type;
