package store

import (
	"context"
	"time"
)

// DecisionDay counts the feeds' gate decisions of one effect on one day
// (UTC, "2006-01-02").
type DecisionDay struct {
	Day    string
	Effect string // allow, warn, block, hidden, ...
	Count  int
}

// FeedDecisionDays counts the gate decisions of every feed per day and
// effect since a time (the dashboard's downloads, refusals and trend).
func (s *Store) FeedDecisionDays(ctx context.Context, since time.Time) ([]DecisionDay, error) {
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT substr(at, 1, 10), effect, COUNT(*) FROM feed_decision WHERE at >= ? GROUP BY substr(at, 1, 10), effect ORDER BY 1, 2`), fmtTime(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DecisionDay
	for rows.Next() {
		var d DecisionDay
		if err := rows.Scan(&d.Day, &d.Effect, &d.Count); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
