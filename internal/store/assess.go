package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// This file holds the SQL of assessments (internal/assess): current
// assessments and their audit history, and policies for unassessed
// vulnerabilities. Assessment types are in assess_types.go, recorded
// findings in findings.go. The rules (ranges, expiry, decisions) live in
// internal/assess.

// Assessment is the current assessment of one vulnerability ID in one scope.
type Assessment struct {
	VulnID    string
	Scope     string
	Type      string
	Effect    string // the type's effect, filled on read
	Comment   string
	By        string
	At        time.Time
	ExpiresAt time.Time // zero: never
	Auto      bool
	// MalwareOverride marks an admin's scoped assessment that lets a
	// known malicious package through (a reviewed false positive).
	MalwareOverride bool
}

// AssessmentEvent is one row of the audit history.
type AssessmentEvent struct {
	Seq int64
	Assessment
	Action string // set, auto, import, clear, expire
	Actor  string
	Time   time.Time
}

const assessCols = `a.vuln_id, a.scope, a.type_name, t.effect, a.comment, a.assessed_by, a.assessed_at, a.expires_at, a.auto, a.malware_override`

func scanAssessment(r scanner) (Assessment, error) {
	var a Assessment
	var at, exp string
	var auto, override int
	err := r.Scan(&a.VulnID, &a.Scope, &a.Type, &a.Effect, &a.Comment, &a.By, &at, &exp, &auto, &override)
	a.At, a.ExpiresAt, a.Auto, a.MalwareOverride = parseTime(at), parseTime(exp), auto != 0, override != 0
	return a, err
}

// AssessmentFilter selects current assessments; empty fields match all.
type AssessmentFilter struct {
	VulnIDs []string // any of these IDs
	Scopes  []string // any of these scopes
	Type    string
}

// Assessments returns current assessments (expired ones not yet swept
// included), ordered by vulnerability ID and scope.
func (s *Store) Assessments(ctx context.Context, f AssessmentFilter) ([]Assessment, error) {
	q := `SELECT ` + assessCols + ` FROM assessment a JOIN assess_type t ON t.name = a.type_name WHERE 1 = 1`
	var args []any
	q, args = inClause(q, args, "a.vuln_id", f.VulnIDs)
	q, args = inClause(q, args, "a.scope", f.Scopes)
	if f.Type != "" {
		q += ` AND a.type_name = ?`
		args = append(args, f.Type)
	}
	rows, err := s.queryCached(ctx, s.Rebind(q+` ORDER BY a.vuln_id, a.scope`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Assessment
	for rows.Next() {
		a, err := scanAssessment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetAssessments writes assessments (replacing the current one of each
// (vuln ID, scope)) and appends one history row each, in one transaction.
// action is recorded in the history (set, auto, import).
func (s *Store) SetAssessments(ctx context.Context, as []Assessment, action, actor string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, a := range as {
			if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM assessment WHERE vuln_id = ? AND scope = ?`), a.VulnID, a.Scope); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO assessment (vuln_id, scope, type_name, comment, assessed_by, assessed_at, expires_at, auto, malware_override) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				a.VulnID, a.Scope, a.Type, a.Comment, a.By, fmtTime(a.At), fmtTime(a.ExpiresAt), boolInt(a.Auto), boolInt(a.MalwareOverride)); err != nil {
				return fmt.Errorf("assessing %s: %w", a.VulnID, err)
			}
			if err := s.appendHistory(ctx, tx, a, action, actor, now); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) appendHistory(ctx context.Context, tx *sql.Tx, a Assessment, action, actor string, now time.Time) error {
	_, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO assessment_history (vuln_id, scope, action, type_name, comment, assessed_by, assessed_at, expires_at, auto, malware_override, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		a.VulnID, a.Scope, action, a.Type, a.Comment, a.By, fmtTime(a.At), fmtTime(a.ExpiresAt), boolInt(a.Auto), boolInt(a.MalwareOverride), actor, fmtTime(now))
	return err
}

// removeAssessments deletes the current assessments selected by where
// (and by pick, when not nil) and records each in the history with action.
func (s *Store) removeAssessments(ctx context.Context, where string, args []any, pick func(Assessment) bool, action, actor string, now time.Time) ([]Assessment, error) {
	var out []Assessment
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, s.Rebind(`SELECT `+assessCols+` FROM assessment a JOIN assess_type t ON t.name = a.type_name WHERE `+where+` ORDER BY a.vuln_id, a.scope`), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			a, err := scanAssessment(rows)
			if err != nil {
				rows.Close()
				return err
			}
			if pick == nil || pick(a) {
				out = append(out, a)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, a := range out {
			if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM assessment WHERE vuln_id = ? AND scope = ?`), a.VulnID, a.Scope); err != nil {
				return err
			}
			if err := s.appendHistory(ctx, tx, a, action, actor, now); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// ClearAssessment removes the current assessment of (vulnID, scope),
// returning the vulnerability to unassessed; the history keeps it.
func (s *Store) ClearAssessment(ctx context.Context, vulnID, scope, actor string, now time.Time) (bool, error) {
	out, err := s.removeAssessments(ctx, `a.vuln_id = ? AND a.scope = ?`, []any{vulnID, scope}, nil, "clear", actor, now)
	return len(out) > 0, err
}

// ExpireAssessments removes every assessment whose expiry is at or before
// now, recording each in the history as expired, and returns them.
func (s *Store) ExpireAssessments(ctx context.Context, now time.Time, actor string) ([]Assessment, error) {
	// Timestamps are compared as times, not strings: RFC 3339 with
	// variable fractional seconds does not sort as text.
	return s.removeAssessments(ctx, `a.expires_at <> ''`, nil, func(a Assessment) bool { return !a.ExpiresAt.After(now) }, "expire", actor, now)
}

// AssessmentHistory returns the audit rows of the given IDs, oldest first.
func (s *Store) AssessmentHistory(ctx context.Context, vulnIDs []string) ([]AssessmentEvent, error) {
	q, args := inClause(`SELECT seq, vuln_id, scope, action, type_name, comment, assessed_by, assessed_at, expires_at, auto, malware_override, actor, at FROM assessment_history WHERE 1 = 1`, nil, "vuln_id", vulnIDs)
	rows, err := s.db.QueryContext(ctx, s.Rebind(q+` ORDER BY seq`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AssessmentEvent
	for rows.Next() {
		var e AssessmentEvent
		var at, exp, when string
		var auto, override int
		if err := rows.Scan(&e.Seq, &e.VulnID, &e.Scope, &e.Action, &e.Type, &e.Comment, &e.By, &at, &exp, &auto, &override, &e.Actor, &when); err != nil {
			return nil, err
		}
		e.At, e.ExpiresAt, e.Auto, e.MalwareOverride, e.Time = parseTime(at), parseTime(exp), auto != 0, override != 0, parseTime(when)
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetPolicy sets the effect for unassessed vulnerabilities in a scope.
func (s *Store) SetPolicy(ctx context.Context, scope, effect, by string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM assess_policy WHERE scope = ?`), scope); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO assess_policy (scope, effect, set_by, set_at) VALUES (?, ?, ?, ?)`), scope, effect, by, fmtTime(now))
		return err
	})
}

// Policies returns scope -> effect for every scope with a policy set
// (every findings page reads them: through a cached prepared statement).
func (s *Store) Policies(ctx context.Context) (map[string]string, error) {
	rows, err := s.queryCached(ctx, `SELECT scope, effect FROM assess_policy`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var sc, eff string
		if err := rows.Scan(&sc, &eff); err != nil {
			return nil, err
		}
		out[sc] = eff
	}
	return out, rows.Err()
}
