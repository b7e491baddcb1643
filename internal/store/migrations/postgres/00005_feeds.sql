-- +goose Up
-- Package feeds (internal/feed): caching proxies of package registries that
-- refuse downloads whose vulnerabilities are assessed Blocked.
--
-- sources is a comma-separated list of vulnerability sources consulted for
-- the feed (osv, ossindex). unassessed is the feed's own policy for
-- unassessed vulnerabilities (allow, warn, block), '' to inherit the
-- assessment policies of scope "feed:NAME" / "global".
CREATE TABLE feed (
    name            TEXT PRIMARY KEY,
    type            TEXT NOT NULL,
    upstream        TEXT NOT NULL,
    sources         TEXT NOT NULL DEFAULT 'osv',
    unassessed      TEXT NOT NULL DEFAULT '',
    filter_blocked  INTEGER NOT NULL DEFAULT 0,
    metadata_ttl    INTEGER NOT NULL DEFAULT 300,
    description     TEXT NOT NULL DEFAULT '',
    created         TEXT NOT NULL,
    updated         TEXT NOT NULL
);

-- Cached upstream metadata (package documents, indexes, listings): the body
-- as the upstream sent it, for the feed's TTL; served stale when the
-- upstream is unreachable.
CREATE TABLE feed_metadata (
    feed          TEXT NOT NULL REFERENCES feed (name) ON DELETE CASCADE,
    cache_key     TEXT NOT NULL,
    content_type  TEXT NOT NULL DEFAULT '',
    etag          TEXT NOT NULL DEFAULT '',
    fetched_at    TEXT NOT NULL,
    body          BYTEA NOT NULL,
    PRIMARY KEY (feed, cache_key)
);

-- Cached artifacts: the file lives content-addressed on disk under
-- <data-dir>/cache/sha256/; this row maps the feed's key to it.
CREATE TABLE feed_artifact (
    feed          TEXT NOT NULL REFERENCES feed (name) ON DELETE CASCADE,
    cache_key     TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    content_type  TEXT NOT NULL DEFAULT '',
    fetched_at    TEXT NOT NULL,
    PRIMARY KEY (feed, cache_key)
);
CREATE INDEX feed_artifact_by_sha256 ON feed_artifact (sha256);

-- Packages seen through a feed (tracked): one row per package version
-- downloaded, with the last decision taken for it.
CREATE TABLE feed_package (
    feed          TEXT NOT NULL REFERENCES feed (name) ON DELETE CASCADE,
    purl          TEXT NOT NULL,
    ecosystem     TEXT NOT NULL,
    name          TEXT NOT NULL,
    version       TEXT NOT NULL,
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    decision      TEXT NOT NULL DEFAULT '',
    downloads     BIGINT NOT NULL DEFAULT 0,
    refused       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (feed, purl)
);

-- Append-only audit of gate decisions on artifact downloads. effect is
-- allow, warn or block; reasons is the decision's one-line explanation.
CREATE TABLE feed_decision (
    seq       BIGSERIAL PRIMARY KEY,
    feed      TEXT NOT NULL,
    purl      TEXT NOT NULL,
    effect    TEXT NOT NULL,
    reasons   TEXT NOT NULL DEFAULT '',
    client    TEXT NOT NULL DEFAULT '',
    at        TEXT NOT NULL
);
CREATE INDEX feed_decision_by_feed ON feed_decision (feed, seq);
CREATE INDEX feed_decision_by_purl ON feed_decision (purl, seq);

-- +goose Down
DROP TABLE feed_decision;
DROP TABLE feed_package;
DROP TABLE feed_artifact;
DROP TABLE feed_metadata;
DROP TABLE feed;
