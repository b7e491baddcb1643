-- +goose Up
-- Indexes for the server's paginated listing of open findings
-- (store.ListOpenFindings): open findings by severity order, and current
-- source attributions by source.
CREATE INDEX finding_open_by_score ON finding (closed_at, score, vuln_id);
CREATE INDEX finding_source_by_source ON finding_source (source, ended_at, finding_id);

-- +goose Down
DROP INDEX finding_source_by_source;
DROP INDEX finding_open_by_score;
