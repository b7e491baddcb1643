-- +goose Up
-- Job schedules live here so that every instance sharing the database
-- follows the same ones (each polls this table and checks it again when
-- a run is due). A row exists once an administrator set the job's cron
-- expression; cron '' means on demand only. It replaces the settings
-- "job.<name>" of earlier versions, copied here.
CREATE TABLE job_schedule (
    job         TEXT PRIMARY KEY,
    cron        TEXT NOT NULL,
    updated     TEXT NOT NULL,
    updated_by  TEXT NOT NULL DEFAULT ''
);
INSERT INTO job_schedule (job, cron, updated)
    SELECT substr(name, 5), COALESCE(json_extract(value, '$.cron'), ''), updated FROM setting WHERE name LIKE 'job.%';
DELETE FROM setting WHERE name LIKE 'job.%';

-- The latest scheduled time (Unix seconds) a run of the job was started
-- for: instances whose schedules fire at the same minute claim it, so a
-- scheduled run happens once however many instances there are.
CREATE TABLE job_slot (
    job   TEXT PRIMARY KEY,
    slot  BIGINT NOT NULL
);

-- +goose Down
INSERT INTO setting (name, value, updated)
    SELECT 'job.' || job, json_object('cron', cron), updated FROM job_schedule;
DROP TABLE job_slot;
DROP TABLE job_schedule;
