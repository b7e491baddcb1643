-- +goose Up
-- Notification rules (internal/notify): which events go where. secret is
-- the webhook's HMAC secret, sealed (never returned by the API).
CREATE TABLE notify_rule (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    event        TEXT NOT NULL,
    scope        TEXT NOT NULL DEFAULT '',
    min_severity TEXT NOT NULL DEFAULT '',
    days         INTEGER NOT NULL DEFAULT 0,
    kind         TEXT NOT NULL,
    url          TEXT NOT NULL DEFAULT '',
    secret       TEXT NOT NULL DEFAULT '',
    recipients   TEXT NOT NULL DEFAULT '',
    enabled      INTEGER NOT NULL DEFAULT 1,
    created      TEXT NOT NULL,
    updated      TEXT NOT NULL
);

-- One delivery of one event by one rule. status: sending, sent, failed,
-- dropped. dedupe, when set, makes a (rule, dedupe) delivery happen once
-- (e.g. one "expiring" notice per assessment).
CREATE TABLE notify_delivery (
    id          INTEGER PRIMARY KEY,
    rule_id     INTEGER NOT NULL,
    rule_name   TEXT NOT NULL DEFAULT '',
    event       TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    dedupe      TEXT NOT NULL DEFAULT '',
    created     TEXT NOT NULL,
    updated     TEXT NOT NULL
);
CREATE INDEX notify_delivery_by_id ON notify_delivery (id);
CREATE INDEX notify_delivery_by_dedupe ON notify_delivery (rule_id, dedupe);

-- +goose Down
DROP TABLE notify_delivery;
DROP TABLE notify_rule;
