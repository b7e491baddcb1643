-- +goose Up
-- Each finding's IDs and sources as the finding lists read them: copies of
-- finding_vuln and finding_source kept by the store (finding_lists.go), so
-- that a page of findings reads no subquery per row.
ALTER TABLE finding ADD COLUMN ids_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE finding ADD COLUMN sources_json TEXT NOT NULL DEFAULT '[]';
UPDATE finding SET
    ids_json = (SELECT json_group_array(vuln_id) FROM (SELECT vuln_id FROM finding_vuln WHERE finding_id = finding.id ORDER BY vuln_id)),
    sources_json = (SELECT json_group_array(json_array(source, first_seen, last_seen, ended_at)) FROM (SELECT * FROM finding_source WHERE finding_id = finding.id ORDER BY source));

-- +goose Down
ALTER TABLE finding DROP COLUMN sources_json;
ALTER TABLE finding DROP COLUMN ids_json;
