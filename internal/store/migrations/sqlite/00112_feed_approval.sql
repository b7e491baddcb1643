-- +goose Up
-- Package approval (ProGet's "package approval"): a feed that requires
-- approval serves a package version only once someone with the approve
-- permission on the feed approved it.
ALTER TABLE feed ADD COLUMN require_approval INTEGER NOT NULL DEFAULT 0;

-- The approval state of one package version in one feed: pending (asked
-- for by a download), approved, or revoked. requests counts the refused
-- downloads that asked for it.
CREATE TABLE feed_approval (
    feed          TEXT NOT NULL REFERENCES feed (name) ON DELETE CASCADE,
    purl          TEXT NOT NULL,
    ecosystem     TEXT NOT NULL,
    name          TEXT NOT NULL,
    version       TEXT NOT NULL,
    status        TEXT NOT NULL,
    requested_at  TEXT NOT NULL DEFAULT '',
    requested_by  TEXT NOT NULL DEFAULT '',
    requests      INTEGER NOT NULL DEFAULT 0,
    decided_at    TEXT NOT NULL DEFAULT '',
    decided_by    TEXT NOT NULL DEFAULT '',
    comment       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (feed, purl)
);
CREATE INDEX feed_approval_by_status ON feed_approval (feed, status, purl);

-- Append-only audit of approvals: request, approve, revoke.
CREATE TABLE feed_approval_event (
    seq      INTEGER PRIMARY KEY,
    feed     TEXT NOT NULL,
    purl     TEXT NOT NULL,
    action   TEXT NOT NULL,
    actor    TEXT NOT NULL DEFAULT '',
    comment  TEXT NOT NULL DEFAULT '',
    at       TEXT NOT NULL
);
CREATE INDEX feed_approval_event_by_feed ON feed_approval_event (feed, seq);

-- +goose Down
DROP TABLE feed_approval_event;
DROP TABLE feed_approval;
ALTER TABLE feed DROP COLUMN require_approval;
