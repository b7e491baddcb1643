-- +goose Up
-- Rate limits shared by the instances of one database (login attempts per
-- client and per client and user name, password changes per user): one
-- row per key holding the bucket's theoretical arrival time (GCRA) in
-- Unix nanoseconds. A row whose tat has passed is a full bucket and may
-- be deleted at any time.
CREATE TABLE rate_limit (
    key     TEXT PRIMARY KEY,
    tat     BIGINT NOT NULL,
    allowed INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX rate_limit_tat ON rate_limit (tat);

-- +goose Down
DROP TABLE rate_limit;
