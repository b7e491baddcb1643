package store

import (
	"context"
	"time"
)

// RateLimit takes one attempt for key from a bucket of burst attempts
// that refills one per every (the generic cell rate algorithm: the row
// holds the bucket's theoretical arrival time). It reports whether the
// attempt is allowed and, if not, how long until one is. The check and
// the update are one statement, so instances sharing a PostgreSQL
// database share the limit exactly.
func (s *Store) RateLimit(ctx context.Context, key string, now time.Time, every time.Duration, burst int) (bool, time.Duration, error) {
	n, t, bt := now.UnixNano(), int64(every), int64(burst)*int64(every)
	// next is the tat after this attempt: max(tat, now) + every.
	const next = `(CASE WHEN rate_limit.tat > CAST(? AS BIGINT) THEN rate_limit.tat ELSE CAST(? AS BIGINT) END) + CAST(? AS BIGINT)`
	q := `INSERT INTO rate_limit (key, tat, allowed) VALUES (?, CAST(? AS BIGINT), 1)
ON CONFLICT (key) DO UPDATE SET
  allowed = CASE WHEN ` + next + ` - CAST(? AS BIGINT) <= CAST(? AS BIGINT) THEN 1 ELSE 0 END,
  tat = CASE WHEN ` + next + ` - CAST(? AS BIGINT) <= CAST(? AS BIGINT) THEN ` + next + ` ELSE rate_limit.tat END
RETURNING tat, allowed`
	var tat int64
	var allowed int
	err := s.db.QueryRowContext(ctx, s.Rebind(q),
		key, n+t,
		n, n, t, n, bt,
		n, n, t, n, bt, n, n, t,
	).Scan(&tat, &allowed)
	if err != nil {
		return false, 0, err
	}
	if allowed == 1 {
		return true, 0, nil
	}
	return false, time.Duration(max(tat+t-bt-n, 1)), nil
}

// PruneRateLimits deletes the rows whose bucket is full again at now:
// forgetting them changes no decision.
func (s *Store) PruneRateLimits(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.exec(ctx, s.Rebind(`DELETE FROM rate_limit WHERE tat <= ?`), now.UnixNano())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
