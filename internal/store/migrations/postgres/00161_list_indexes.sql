-- +goose Up
-- Lists at scale (issue 16). The advisory list is ordered by severity score
-- and time: with this index a page of 50 reads 50 index entries instead of
-- sorting every advisory.
CREATE INDEX advisory_summary_by_score ON advisory_summary (score DESC, modified DESC, id, part);
CREATE INDEX advisory_summary_by_ecosystem ON advisory_summary (ecosystem, score DESC, modified DESC);

-- Text search (q=): a trigram index (pg_trgm) over the searched text
-- answers case-insensitive substring queries of three or more characters
-- without reading every row. pg_trgm is a trusted extension (the database
-- owner may create it); where it cannot be created, search still works
-- by reading the table.
-- +goose StatementBegin
DO $$
DECLARE
    trgm_schema TEXT;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm not available: advisory text search reads the table';
    END;
    -- The operator class lives in the extension's schema, which need not
    -- be on this session's search path.
    SELECT n.nspname INTO trgm_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    IF trgm_schema IS NOT NULL THEN
        BEGIN
            EXECUTE format('CREATE INDEX advisory_summary_text ON advisory_summary USING gin ((lower(id || E''\n'' || aliases || E''\n'' || packages || E''\n'' || summary)) %I.gin_trgm_ops)', trgm_schema);
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'trigram index not created (%): advisory text search reads the table', SQLERRM;
        END;
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX IF EXISTS advisory_summary_text;
DROP INDEX advisory_summary_by_ecosystem;
DROP INDEX advisory_summary_by_score;
