-- +goose Up
-- Lists at scale (issue 16). The advisory list is ordered by severity score
-- and time: with this index a page of 50 reads 50 index entries instead of
-- sorting every advisory.
CREATE INDEX advisory_summary_by_score ON advisory_summary (score DESC, modified DESC, id, part);
CREATE INDEX advisory_summary_by_ecosystem ON advisory_summary (ecosystem, score DESC, modified DESC);

-- Text search (q=) over ID, aliases, packages and summary: an FTS5 index
-- with the trigram tokenizer answers case-insensitive substring queries of
-- three or more characters without reading every row. It indexes the
-- summary table's rows (external content) and is kept in step by triggers.
CREATE VIRTUAL TABLE advisory_summary_fts USING fts5(
    id, aliases, packages, summary,
    content = 'advisory_summary', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO advisory_summary_fts (advisory_summary_fts) VALUES ('rebuild');

-- +goose StatementBegin
CREATE TRIGGER advisory_summary_fts_insert AFTER INSERT ON advisory_summary BEGIN
    INSERT INTO advisory_summary_fts (rowid, id, aliases, packages, summary)
    VALUES (new.rowid, new.id, new.aliases, new.packages, new.summary);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER advisory_summary_fts_delete AFTER DELETE ON advisory_summary BEGIN
    INSERT INTO advisory_summary_fts (advisory_summary_fts, rowid, id, aliases, packages, summary)
    VALUES ('delete', old.rowid, old.id, old.aliases, old.packages, old.summary);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER advisory_summary_fts_update AFTER UPDATE ON advisory_summary BEGIN
    INSERT INTO advisory_summary_fts (advisory_summary_fts, rowid, id, aliases, packages, summary)
    VALUES ('delete', old.rowid, old.id, old.aliases, old.packages, old.summary);
    INSERT INTO advisory_summary_fts (rowid, id, aliases, packages, summary)
    VALUES (new.rowid, new.id, new.aliases, new.packages, new.summary);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER advisory_summary_fts_update;
DROP TRIGGER advisory_summary_fts_delete;
DROP TRIGGER advisory_summary_fts_insert;
DROP TABLE advisory_summary_fts;
DROP INDEX advisory_summary_by_ecosystem;
DROP INDEX advisory_summary_by_score;
