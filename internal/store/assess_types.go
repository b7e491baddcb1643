package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The SQL of assessment types (internal/assess decides their rules).

// AssessType is one assessment type as stored.
type AssessType struct {
	Name          string
	Effect        string // allow, warn, block
	Builtin       bool
	AutoMin       int // inclusive CVSS tenths; -1 when not auto-assessing
	AutoMax       int
	AutoKEV       bool    // auto-assesses findings in the CISA KEV catalogue
	AutoEPSS      float64 // auto-assesses findings with at least this EPSS percentile (0-1); -1 none
	ExpirySeconds int64   // 0: never expires
	Description   string
	CreatedAt     time.Time
}

const typeCols = `name, effect, builtin, auto_min, auto_max, expiry_seconds, description, created_at, auto_kev, auto_epss`

func scanType(r scanner) (AssessType, error) {
	var t AssessType
	var builtin, kev int
	var created string
	err := r.Scan(&t.Name, &t.Effect, &builtin, &t.AutoMin, &t.AutoMax, &t.ExpirySeconds, &t.Description, &created, &kev, &t.AutoEPSS)
	t.Builtin, t.CreatedAt, t.AutoKEV = builtin != 0, parseTime(created), kev != 0
	return t, err
}

func queryTypes(ctx context.Context, q querier) ([]AssessType, error) {
	return queryAll(ctx, q, `SELECT `+typeCols+` FROM assess_type ORDER BY name`, nil, scanType)
}

// AssessTypes lists the assessment types by name (every findings page
// reads them: through a cached prepared statement).
func (s *Store) AssessTypes(ctx context.Context) ([]AssessType, error) {
	return queryTypes(ctx, cachedQuerier{s})
}

// SaveAssessType creates or replaces a type in one transaction. check is
// called with all types as they would be after the change and aborts it
// by returning an error.
func (s *Store) SaveAssessType(ctx context.Context, t AssessType, check func([]AssessType) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		all, err := queryTypes(ctx, tx)
		if err != nil {
			return err
		}
		all = slices.DeleteFunc(all, func(x AssessType) bool { return strings.EqualFold(x.Name, t.Name) })
		all = append(all, t)
		if check != nil {
			if err := check(all); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM assess_type WHERE name = ?`), t.Name); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.Rebind(`INSERT INTO assess_type (`+typeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			t.Name, t.Effect, boolInt(t.Builtin), t.AutoMin, t.AutoMax, t.ExpirySeconds, t.Description, fmtTime(t.CreatedAt), boolInt(t.AutoKEV), epssOrNone(t.AutoEPSS))
		return err
	})
}

// DeleteAssessType removes a custom type that no current assessment uses.
func (s *Store) DeleteAssessType(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		t, err := scanType(tx.QueryRowContext(ctx, s.Rebind(`SELECT `+typeCols+` FROM assess_type WHERE name = ?`), name))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("assessment type %q: %w", name, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if t.Builtin {
			return Invalid(fmt.Errorf("assessment type %q is built in and cannot be deleted", name))
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM assessment WHERE type_name = ?`), name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("assessment type %q is used by %d assessments: %w", name, n, ErrInUse)
		}
		_, err = tx.ExecContext(ctx, s.Rebind(`DELETE FROM assess_type WHERE name = ?`), name)
		return err
	})
}

// epssOrNone keeps an EPSS percentile in (0, 1], anything else as -1
// (unknown): the zero value of a Go struct means "not given", and no rule
// can use a percentile of 0.
func epssOrNone(p float64) float64 {
	if p > 0 && p <= 1 {
		return p
	}
	return -1
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
