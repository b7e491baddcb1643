package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// The portfolio's daily snapshots (internal/project takes one a day).

// PortfolioSnapshot is the portfolio's metrics on one day.
type PortfolioSnapshot struct {
	Day                                                         string // YYYY-MM-DD (UTC)
	Projects, Versions, Components, Vulnerable, Findings        int
	Critical, High, Medium, Low, Unknown, Malicious, Unassessed int
	Blocked                                                     int
	Taken                                                       time.Time
}

var snapshotCols = []string{"day", "projects", "versions", "components", "vulnerable", "findings", "critical", "high", "medium", "low", "unknown", "malicious", "unassessed", "blocked", "taken"}

// PutPortfolioSnapshot writes (or overwrites) the snapshot of its day.
func (s *Store) PutPortfolioSnapshot(ctx context.Context, p PortfolioSnapshot) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM portfolio_snapshot WHERE day = ?`), p.Day); err != nil {
			return err
		}
		return insertMany(ctx, s, tx, "portfolio_snapshot", snapshotCols, [][]any{{p.Day, p.Projects, p.Versions, p.Components, p.Vulnerable, p.Findings,
			p.Critical, p.High, p.Medium, p.Low, p.Unknown, p.Malicious, p.Unassessed, p.Blocked, fmtTime(p.Taken)}})
	})
}

// PortfolioSnapshots returns the snapshots from day since on, oldest first.
func (s *Store) PortfolioSnapshots(ctx context.Context, since string) ([]PortfolioSnapshot, error) {
	return queryAll(ctx, s.db, s.Rebind(`SELECT `+strings.Join(snapshotCols, ", ")+` FROM portfolio_snapshot WHERE day >= ? ORDER BY day`), []any{since},
		func(r scanner) (PortfolioSnapshot, error) {
			var p PortfolioSnapshot
			var taken string
			err := r.Scan(&p.Day, &p.Projects, &p.Versions, &p.Components, &p.Vulnerable, &p.Findings, &p.Critical, &p.High, &p.Medium, &p.Low, &p.Unknown, &p.Malicious, &p.Unassessed, &p.Blocked, &taken)
			p.Taken = parseTime(taken)
			return p, err
		})
}
