-- +goose Up
-- Projects (internal/project): a project has versions, a version holds the
-- components of the SBOM uploaded for it and the findings of each
-- component. Deleting a project or version cascades to what belongs to it.
-- tags is a comma-separated, sorted list.
CREATE TABLE project (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '',
    created     TEXT NOT NULL,
    updated     TEXT NOT NULL
);

CREATE TABLE project_version (
    id          BIGSERIAL PRIMARY KEY,
    project_id  BIGINT NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    version     TEXT NOT NULL,
    format      TEXT NOT NULL DEFAULT '',
    file_name   TEXT NOT NULL DEFAULT '',
    uploaded_by TEXT NOT NULL DEFAULT '',
    uploaded    TEXT NOT NULL,
    analyzed    TEXT NOT NULL DEFAULT '',
    UNIQUE (project_id, version)
);

-- One component of a version's SBOM. ecosystem/pkg_name are the advisory
-- index key (base ecosystem, normalized name), '' when not identifiable;
-- path is the dependency path from the root, names joined by " > ".
CREATE TABLE project_component (
    id          BIGSERIAL PRIMARY KEY,
    version_id  BIGINT NOT NULL REFERENCES project_version (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    purl        TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL DEFAULT '',
    version     TEXT NOT NULL DEFAULT '',
    bom_ref     TEXT NOT NULL DEFAULT '',
    path        TEXT NOT NULL DEFAULT '',
    ecosystem   TEXT NOT NULL DEFAULT '',
    pkg_name    TEXT NOT NULL DEFAULT '',
    errors      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX project_component_by_version ON project_component (version_id, seq);
CREATE INDEX project_component_by_package ON project_component (ecosystem, pkg_name);

-- A finding of one component of one version. ids holds every ID of the
-- alias group, space-separated; closed_at/close_reason are set when the
-- finding disappeared (the advisory was withdrawn or no longer affects).
CREATE TABLE project_finding (
    id           BIGSERIAL PRIMARY KEY,
    component_id BIGINT NOT NULL REFERENCES project_component (id) ON DELETE CASCADE,
    version_id   BIGINT NOT NULL,
    vuln_id      TEXT NOT NULL,
    ids          TEXT NOT NULL DEFAULT '',
    rating       TEXT NOT NULL DEFAULT '',
    score        INTEGER NOT NULL DEFAULT -1,
    summary      TEXT NOT NULL DEFAULT '',
    sources      TEXT NOT NULL DEFAULT '',
    fixed        TEXT NOT NULL DEFAULT '',
    malicious    INTEGER NOT NULL DEFAULT 0,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    closed_at    TEXT NOT NULL DEFAULT '',
    close_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX project_finding_by_version ON project_finding (version_id, closed_at);
CREATE INDEX project_finding_by_component ON project_finding (component_id);

-- Journal of advisory data changes, written by the store with each mirror
-- import, delta and purge and each changed OSS Index answer: which package
-- keys may match differently now. name '' with ecosystem '' means the whole
-- partition part changed; purl is set for OSS Index coordinates.
CREATE TABLE package_change (
    seq        BIGSERIAL PRIMARY KEY,
    part       TEXT NOT NULL DEFAULT '',
    ecosystem  TEXT NOT NULL DEFAULT '',
    name       TEXT NOT NULL DEFAULT '',
    purl       TEXT NOT NULL DEFAULT '',
    at         TEXT NOT NULL
);

-- Daily portfolio metrics for the dashboard's trend (one row per UTC day,
-- overwritten during the day).
CREATE TABLE portfolio_snapshot (
    day        TEXT PRIMARY KEY,
    projects   INTEGER NOT NULL DEFAULT 0,
    versions   INTEGER NOT NULL DEFAULT 0,
    components INTEGER NOT NULL DEFAULT 0,
    vulnerable INTEGER NOT NULL DEFAULT 0,
    findings   INTEGER NOT NULL DEFAULT 0,
    critical   INTEGER NOT NULL DEFAULT 0,
    high       INTEGER NOT NULL DEFAULT 0,
    medium     INTEGER NOT NULL DEFAULT 0,
    low        INTEGER NOT NULL DEFAULT 0,
    unknown    INTEGER NOT NULL DEFAULT 0,
    malicious  INTEGER NOT NULL DEFAULT 0,
    unassessed INTEGER NOT NULL DEFAULT 0,
    blocked    INTEGER NOT NULL DEFAULT 0,
    taken      TEXT NOT NULL
);

-- +goose Down
DROP TABLE portfolio_snapshot;
DROP TABLE package_change;
DROP TABLE project_finding;
DROP TABLE project_component;
DROP TABLE project_version;
DROP TABLE project;
