-- +goose Up
-- SQLite only (its FTS5 index's update trigger fires only when a searched
-- column changes). PostgreSQL's trigram index (00161) is an expression
-- index, maintained by the server; nothing changes here.
SELECT 1;

-- +goose Down
SELECT 1;
