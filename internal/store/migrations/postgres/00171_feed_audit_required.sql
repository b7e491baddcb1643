-- +goose Up
-- A feed whose downloads are served only once their decision is written
-- to the audit (feed_decision): while the database cannot take it they
-- are refused (fail closed). Other feeds keep the decisions waiting and
-- write them when the database is back.
ALTER TABLE feed ADD COLUMN audit_required INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE feed DROP COLUMN audit_required;
