-- +goose Up
-- The dashboard counts feed downloads and refusals per day: decisions by
-- time.
CREATE INDEX feed_decision_by_at ON feed_decision (at);

-- +goose Down
DROP INDEX feed_decision_by_at;
