-- +goose Up
-- Records of a partition's source that were skipped as malformed (e.g. no
-- modified timestamp), by ID. An incremental sync treats them as already
-- seen, so that one bad upstream record does not force a full re-import on
-- every run; a newer upstream modified time fetches them again. A full
-- import replaces the partition's rows when it commits.
CREATE TABLE advisory_skipped (
    part    TEXT NOT NULL,
    id      TEXT NOT NULL,
    reason  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (part, id)
);

-- +goose Down
DROP TABLE advisory_skipped;
