-- +goose Up
-- Each finding's IDs and sources as the finding lists read them: copies of
-- finding_vuln and finding_source kept by the store (finding_lists.go), so
-- that a page of findings reads no subquery per row.
ALTER TABLE finding ADD COLUMN ids_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE finding ADD COLUMN sources_json TEXT NOT NULL DEFAULT '[]';
-- Written as the store writes them: compact (json_agg puts a space after
-- each comma) and in byte order.
UPDATE finding SET
    ids_json = COALESCE((SELECT '[' || string_agg(to_json(vuln_id)::text, ',' ORDER BY vuln_id COLLATE "C") || ']' FROM finding_vuln WHERE finding_id = finding.id), '[]'),
    sources_json = COALESCE((SELECT '[' || string_agg('[' || to_json(source)::text || ',' || to_json(first_seen)::text || ',' || to_json(last_seen)::text || ',' || to_json(ended_at)::text || ']', ',' ORDER BY source COLLATE "C") || ']' FROM finding_source WHERE finding_id = finding.id), '[]');

-- +goose Down
ALTER TABLE finding DROP COLUMN sources_json;
ALTER TABLE finding DROP COLUMN ids_json;
