-- +goose Up
-- Server state: users and their access, sessions, API keys, settings,
-- scheduled job history and the browsing index of mirrored advisories.

-- role is admin, assessor or viewer. password_hash is an argon2id PHC string.
CREATE TABLE app_user (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created       TEXT NOT NULL,
    updated       TEXT NOT NULL
);

-- A grant gives a user a permission (e.g. "assess") within a scope: "*" for
-- everything, "feed:<name>" or "project:<name>".
CREATE TABLE user_grant (
    user_id     INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    permission  TEXT NOT NULL,
    scope       TEXT NOT NULL,
    PRIMARY KEY (user_id, permission, scope)
);

-- Sessions and API keys are stored as SHA-256 hashes of the secret.
CREATE TABLE user_session (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    created     TEXT NOT NULL,
    expires     TEXT NOT NULL
);
CREATE INDEX user_session_by_user ON user_session (user_id);

CREATE TABLE api_key (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created     TEXT NOT NULL,
    last_used   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX api_key_by_user ON api_key (user_id);

-- Settings are JSON documents by name ("source.osv", "job.osv-mirror", ...).
CREATE TABLE setting (
    name     TEXT PRIMARY KEY,
    value    TEXT NOT NULL,
    updated  TEXT NOT NULL
);

-- One row per run of a scheduled job; log is the captured output once the
-- run has finished. status: running, succeeded, failed, interrupted.
CREATE TABLE job_run (
    id        INTEGER PRIMARY KEY,
    job       TEXT NOT NULL,
    cause     TEXT NOT NULL,
    started   TEXT NOT NULL,
    finished  TEXT NOT NULL DEFAULT '',
    status    TEXT NOT NULL,
    error     TEXT NOT NULL DEFAULT '',
    log       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX job_run_by_job ON job_run (job, id);

-- A summary of each live advisory per partition for listing and filtering,
-- derived from the advisory table by the server after each mirror run.
CREATE TABLE advisory_summary (
    part       TEXT NOT NULL,
    id         TEXT NOT NULL,
    modified   TEXT NOT NULL,
    published  TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL,
    ecosystem  TEXT NOT NULL,
    packages   TEXT NOT NULL DEFAULT '',
    aliases    TEXT NOT NULL DEFAULT '',
    severity   TEXT NOT NULL,
    score      REAL NOT NULL DEFAULT 0,
    summary    TEXT NOT NULL DEFAULT '',
    withdrawn  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (part, id)
);
CREATE INDEX advisory_summary_by_id ON advisory_summary (id);
CREATE INDEX advisory_summary_by_severity ON advisory_summary (severity, ecosystem);

-- +goose Down
DROP TABLE advisory_summary;
DROP TABLE job_run;
DROP TABLE setting;
DROP TABLE api_key;
DROP TABLE user_session;
DROP TABLE user_grant;
DROP TABLE app_user;
