-- +goose Up
-- The sketch of the IDs a partition stores (store.IDSketch): an
-- incremental sync reads from it and from the source's list which records
-- the source removed or published late, instead of reading every stored
-- ID. NULL for partitions written before it: their IDs are read, and the
-- next delta or import writes it.
ALTER TABLE partition_state ADD COLUMN id_sketch BYTEA;

-- +goose Down
ALTER TABLE partition_state DROP COLUMN id_sketch;
