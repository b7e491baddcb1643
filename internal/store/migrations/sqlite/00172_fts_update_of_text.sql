-- +goose Up
-- The text search index (00161) is kept in step with advisory_summary by
-- triggers; the update trigger fired for every update, and the advisory
-- index's severity pass (SetGroupSeverities) updates only the severity
-- columns, which the search does not index: 1,609 entries deleted from
-- and written again to the FTS5 index on the corpus's first index build
-- (~5% of it). It now fires only when a searched column changes.
DROP TRIGGER advisory_summary_fts_update;
-- +goose StatementBegin
CREATE TRIGGER advisory_summary_fts_update AFTER UPDATE OF id, aliases, packages, summary ON advisory_summary BEGIN
    INSERT INTO advisory_summary_fts (advisory_summary_fts, rowid, id, aliases, packages, summary)
    VALUES ('delete', old.rowid, old.id, old.aliases, old.packages, old.summary);
    INSERT INTO advisory_summary_fts (rowid, id, aliases, packages, summary)
    VALUES (new.rowid, new.id, new.aliases, new.packages, new.summary);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER advisory_summary_fts_update;
-- +goose StatementBegin
CREATE TRIGGER advisory_summary_fts_update AFTER UPDATE ON advisory_summary BEGIN
    INSERT INTO advisory_summary_fts (advisory_summary_fts, rowid, id, aliases, packages, summary)
    VALUES ('delete', old.rowid, old.id, old.aliases, old.packages, old.summary);
    INSERT INTO advisory_summary_fts (rowid, id, aliases, packages, summary)
    VALUES (new.rowid, new.id, new.aliases, new.packages, new.summary);
END;
-- +goose StatementEnd
