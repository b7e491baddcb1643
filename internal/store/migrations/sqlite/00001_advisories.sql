-- +goose Up
-- A partition is one mirrored selection of one source, e.g. OSV "Go" or
-- OSV "Debian:12". Its rows live under a generation number; readers only see
-- the partition's current generation, so a full import writes a new
-- generation in batches and flips to it in one short transaction.
CREATE TABLE partition_state (
    name            TEXT PRIMARY KEY,
    source          TEXT NOT NULL,
    generation      INTEGER NOT NULL,
    base_url        TEXT NOT NULL DEFAULT '',
    last_sync       TEXT NOT NULL DEFAULT '',
    watermark       TEXT NOT NULL DEFAULT '',
    records         INTEGER NOT NULL DEFAULT 0,
    withdrawn       INTEGER NOT NULL DEFAULT 0,
    malformed       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE generation_seq (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    next INTEGER NOT NULL
);
INSERT INTO generation_seq (id, next) VALUES (1, 1);

-- Generations being written by a full import. A row whose heartbeat is old
-- belongs to an import that died; its rows are garbage.
CREATE TABLE pending_generation (
    generation  INTEGER PRIMARY KEY,
    part        TEXT NOT NULL,
    owner       TEXT NOT NULL,
    heartbeat   TEXT NOT NULL
);

-- data is the OSV JSON document compressed with raw DEFLATE (RFC 1951),
-- usually copied as-is from the source's all.zip entry.
CREATE TABLE advisory (
    part        TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    id          TEXT NOT NULL,
    modified    TEXT NOT NULL,
    withdrawn   INTEGER NOT NULL DEFAULT 0,
    data        BLOB NOT NULL,
    -- The record's index keys, one "ecosystem<TAB>name" per line, so that
    -- its advisory_package rows can be found by primary key on delete.
    pkgs        TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX advisory_key ON advisory (part, generation, id);

-- One row per affected package the partition indexes: (base ecosystem,
-- normalized name) -> advisory. The key starts with the partition and
-- generation, so a lookup seeks once per live partition and a replaced
-- generation is deleted as one key range, without a second index.
CREATE TABLE advisory_package (
    part        TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    ecosystem   TEXT NOT NULL,
    name        TEXT NOT NULL,
    id          TEXT NOT NULL,
    PRIMARY KEY (part, generation, ecosystem, name, id)
) WITHOUT ROWID;

CREATE TABLE advisory_alias (
    alias       TEXT NOT NULL,
    part        TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    id          TEXT NOT NULL,
    PRIMARY KEY (alias, part, generation, id)
) WITHOUT ROWID;
CREATE INDEX advisory_alias_by_record ON advisory_alias (part, generation, id);

-- +goose Down
DROP TABLE advisory_alias;
DROP TABLE advisory_package;
DROP TABLE advisory;
DROP TABLE pending_generation;
DROP TABLE generation_seq;
DROP TABLE partition_state;
