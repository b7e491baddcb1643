-- +goose Up
-- Deliveries survive restarts (internal/notify): payload is the event to
-- deliver (JSON) so that a delivery interrupted by a shutdown or a crash
-- is sent by the next process; owner is the process sending it (empty
-- while queued). Status: queued, sending, retrying, sent, failed,
-- interrupted (a row from before payloads were kept).
ALTER TABLE notify_delivery ADD COLUMN payload TEXT NOT NULL DEFAULT '';
ALTER TABLE notify_delivery ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE INDEX notify_delivery_by_status ON notify_delivery (status, updated);

-- +goose Down
DROP INDEX notify_delivery_by_status;
ALTER TABLE notify_delivery DROP COLUMN owner;
ALTER TABLE notify_delivery DROP COLUMN payload;
