-- +goose Up
-- Every ID of a project finding's alias group (project_finding.ids, split),
-- so that the projects affected by a vulnerability are found through an
-- index instead of a LIKE over every open project finding. Derived data:
-- the store writes it with the findings and fills it when it is empty
-- while project findings exist (databases migrated or restored from a
-- backup taken before this table).
CREATE TABLE project_finding_vuln (
    finding_id  BIGINT NOT NULL REFERENCES project_finding (id) ON DELETE CASCADE,
    vuln_id     TEXT NOT NULL,
    PRIMARY KEY (finding_id, vuln_id)
);
CREATE INDEX project_finding_vuln_by_id ON project_finding_vuln (vuln_id);

-- +goose Down
DROP TABLE project_finding_vuln;
