-- +goose Up
-- A page of advisories filtered by severity reads its 50 entries in order
-- from this index (without it the engine sorted every advisory of that
-- severity), and totals of the usual filters count index entries only.
CREATE INDEX advisory_summary_by_severity_score ON advisory_summary (severity, score DESC, modified DESC, id, part);
CREATE INDEX advisory_summary_counting ON advisory_summary (severity, ecosystem, source, withdrawn);

-- +goose Down
DROP INDEX advisory_summary_counting;
DROP INDEX advisory_summary_by_severity_score;
