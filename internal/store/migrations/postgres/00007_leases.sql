-- +goose Up
-- Leases let several vulngate instances share one database: a scheduled
-- job runs only on the instance holding its lease. holder names the
-- instance (host:pid:random); expires_at and acquired_at are Unix
-- milliseconds on the database's clock, so instances' clocks may differ.
-- The holder renews the lease while the job runs and deletes it at the
-- end; a lease whose holder died expires and may be taken over. run_id is
-- the holder's job_run row (0 until it is recorded).
CREATE TABLE job_lease (
    name         TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    acquired_at  BIGINT NOT NULL,
    run_id       BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE job_lease;
