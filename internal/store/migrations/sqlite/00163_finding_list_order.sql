-- +goose Up
-- A page of open findings (store.ListOpenFindings) reads its entries in
-- the list's order from an index instead of sorting every match: per scope
-- (a project's findings, the usual filter) and across scopes. The second
-- replaces finding_open_by_score, whose ascending score could not give the
-- list's order. Totals of a scope count entries of the first only.
CREATE INDEX finding_open_by_scope_in_order ON finding (scope, closed_at, score DESC, vuln_id, purl, id);
CREATE INDEX finding_open_in_order ON finding (closed_at, score DESC, vuln_id, scope, purl, id);
DROP INDEX finding_open_by_score;

-- +goose Down
CREATE INDEX finding_open_by_score ON finding (closed_at, score, vuln_id);
DROP INDEX finding_open_in_order;
DROP INDEX finding_open_by_scope_in_order;
