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

// This file holds the SQL of assessments (internal/assess): assessment
// types, current assessments and their audit history, policies for
// unassessed vulnerabilities, and recorded findings with their source
// attribution. The rules (ranges, expiry, decisions) live in internal/assess.

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

const typeCols = `name, effect, builtin, auto_min, auto_max, expiry_seconds, description, created_at, auto_kev, auto_epss`

func scanType(r scanner) (AssessType, error) {
	var t AssessType
	var builtin, kev int
	var created string
	err := r.Scan(&t.Name, &t.Effect, &builtin, &t.AutoMin, &t.AutoMax, &t.ExpirySeconds, &t.Description, &created, &kev, &t.AutoEPSS)
	t.Builtin, t.CreatedAt, t.AutoKEV = builtin != 0, parseTime(created), kev != 0
	return t, err
}

func queryTypes(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]AssessType, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+typeCols+` FROM assess_type ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AssessType
	for rows.Next() {
		t, err := scanType(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// AssessTypes lists the assessment types by name.
func (s *Store) AssessTypes(ctx context.Context) ([]AssessType, error) {
	return queryTypes(ctx, s.db)
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
	rows, err := s.db.QueryContext(ctx, s.Rebind(q+` ORDER BY a.vuln_id, a.scope`), args...)
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

func inClause(q string, args []any, col string, vals []string) (string, []any) {
	if len(vals) == 0 {
		return q, args
	}
	q += ` AND ` + col + ` IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + `)`
	for _, v := range vals {
		args = append(args, v)
	}
	return q, args
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

// Policies returns scope -> effect for every scope with a policy set.
func (s *Store) Policies(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT scope, effect FROM assess_policy`)
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

// StoredFinding is a recorded finding.
type StoredFinding struct {
	ID        int64
	Scope     string
	PURL      string
	Ecosystem string
	Name      string
	Version   string
	VulnID    string   // representative ID when last seen
	IDs       []string // every ID and alias of the group, sorted
	Rating    string
	Score     int // CVSS tenths, -1 when unknown
	Summary   string
	// KnownExploited and EPSSPercentile (-1 when unknown) are what the
	// enrichment sources said when the finding was last seen.
	KnownExploited bool
	EPSSPercentile float64
	FirstSeen      time.Time
	LastSeen       time.Time
	ClosedAt       time.Time // zero while open
	Sources        []FindingSource
}

// FindingSource attributes a finding to a source.
type FindingSource struct {
	Source    string
	FirstSeen time.Time
	LastSeen  time.Time
	EndedAt   time.Time // zero while the source still reports it
}

// ObservedPackage is one package version as a scan saw it.
type ObservedPackage struct {
	PURL, Ecosystem, Name, Version string
	// Complete is false when the scan could not check the package fully
	// (a source failed): its findings are added and refreshed, but nothing
	// is ended or closed.
	Complete bool
	Findings []ObservedFinding
}

// ObservedFinding is one finding of an observed package.
type ObservedFinding struct {
	VulnID         string
	IDs            []string
	Rating         string
	Score          int
	Summary        string
	Sources        []string
	KnownExploited bool
	EPSSPercentile float64 // -1 when unknown
}

// RecordResult says what recording a scan changed.
type RecordResult struct {
	New      []StoredFinding // findings seen for the first time
	Reopened int
	Updated  int
	Closed   []StoredFinding
	Ended    int // source attributions ended
}

// RecordFindings records what a scan of scope observed, in one
// transaction: new findings are inserted, known ones (matched by any shared
// ID within the same scope and package URL) refreshed, sources no longer
// reporting a finding end their attribution, and findings of completely
// scanned packages that no source reports any more are closed.
func (s *Store) RecordFindings(ctx context.Context, scope string, pkgs []ObservedPackage, now time.Time) (RecordResult, error) {
	var res RecordResult
	ts := fmtTime(now)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res = RecordResult{}
		for _, p := range pkgs {
			existing, err := s.findings(ctx, tx, FindingFilter{Scope: scope, PURL: p.PURL, IncludeClosed: true})
			if err != nil {
				return err
			}
			seen := map[int64]bool{}
			for _, of := range p.Findings {
				sf, ok := matchFinding(existing, of.IDs, seen)
				if !ok {
					id, err := s.insertFinding(ctx, tx, scope, p, of, ts)
					if err != nil {
						return err
					}
					sf = &StoredFinding{ID: id, Scope: scope, PURL: p.PURL, Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version,
						VulnID: of.VulnID, IDs: of.IDs, Rating: of.Rating, Score: of.Score, Summary: of.Summary, FirstSeen: now, LastSeen: now,
						KnownExploited: of.KnownExploited, EPSSPercentile: epssOrNone(of.EPSSPercentile)}
					res.New = append(res.New, *sf)
				} else {
					if !sf.ClosedAt.IsZero() {
						res.Reopened++
					} else {
						res.Updated++
					}
					if _, err := tx.ExecContext(ctx, s.Rebind(`UPDATE finding SET vuln_id = ?, rating = ?, score = ?, summary = ?, last_seen = ?, closed_at = '', known_exploited = ?, epss_percentile = ? WHERE id = ?`),
						of.VulnID, of.Rating, of.Score, of.Summary, ts, boolInt(of.KnownExploited), epssOrNone(of.EPSSPercentile), sf.ID); err != nil {
						return err
					}
					// IDs accumulate: an ID once seen in the group keeps
					// identifying the finding.
					if err := s.insertIDs(ctx, tx, sf.ID, of.IDs); err != nil {
						return err
					}
				}
				seen[sf.ID] = true
				n, err := s.attribute(ctx, tx, sf, of.Sources, ts, p.Complete)
				if err != nil {
					return err
				}
				res.Ended += n
			}
			if !p.Complete {
				continue
			}
			for i := range existing {
				f := &existing[i]
				if seen[f.ID] || !f.ClosedAt.IsZero() {
					continue
				}
				n, err := s.attribute(ctx, tx, f, nil, ts, true)
				if err != nil {
					return err
				}
				res.Ended += n
				if _, err := tx.ExecContext(ctx, s.Rebind(`UPDATE finding SET closed_at = ? WHERE id = ?`), ts, f.ID); err != nil {
					return err
				}
				f.ClosedAt = now
				res.Closed = append(res.Closed, *f)
			}
		}
		return nil
	})
	return res, err
}

// matchFinding finds the stored finding sharing an ID with ids, preferring
// open ones, and not already matched in this scan.
func matchFinding(existing []StoredFinding, ids []string, seen map[int64]bool) (*StoredFinding, bool) {
	var best *StoredFinding
	for i := range existing {
		f := &existing[i]
		if seen[f.ID] {
			continue
		}
		shared := false
		for _, id := range ids {
			if slices.Contains(f.IDs, id) {
				shared = true
				break
			}
		}
		if shared && (best == nil || (!best.ClosedAt.IsZero() && f.ClosedAt.IsZero())) {
			best = f
		}
	}
	return best, best != nil
}

func (s *Store) insertFinding(ctx context.Context, tx *sql.Tx, scope string, p ObservedPackage, of ObservedFinding, ts string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, s.Rebind(`INSERT INTO finding (scope, purl, ecosystem, name, version, vuln_id, rating, score, summary, first_seen, last_seen, known_exploited, epss_percentile) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		scope, p.PURL, p.Ecosystem, p.Name, p.Version, of.VulnID, of.Rating, of.Score, of.Summary, ts, ts, boolInt(of.KnownExploited), epssOrNone(of.EPSSPercentile)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("recording %s of %s: %w", of.VulnID, p.PURL, err)
	}
	return id, s.insertIDs(ctx, tx, id, of.IDs)
}

func (s *Store) insertIDs(ctx context.Context, tx *sql.Tx, id int64, ids []string) error {
	for _, v := range ids {
		if _, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO finding_vuln (finding_id, vuln_id) VALUES (?, ?) ON CONFLICT DO NOTHING`), id, v); err != nil {
			return err
		}
	}
	return nil
}

// attribute refreshes the finding's source rows: sources present are
// (re)started and touched; with endOthers, the other open ones end. It
// returns how many attributions ended.
func (s *Store) attribute(ctx context.Context, tx *sql.Tx, f *StoredFinding, sources []string, ts string, endOthers bool) (int, error) {
	for _, src := range sources {
		known := slices.ContainsFunc(f.Sources, func(x FindingSource) bool { return x.Source == src })
		var err error
		if known {
			_, err = tx.ExecContext(ctx, s.Rebind(`UPDATE finding_source SET last_seen = ?, ended_at = '' WHERE finding_id = ? AND source = ?`), ts, f.ID, src)
		} else {
			_, err = tx.ExecContext(ctx, s.Rebind(`INSERT INTO finding_source (finding_id, source, first_seen, last_seen) VALUES (?, ?, ?, ?)`), f.ID, src, ts, ts)
		}
		if err != nil {
			return 0, err
		}
	}
	if !endOthers {
		return 0, nil
	}
	ended := 0
	for _, x := range f.Sources {
		if !x.EndedAt.IsZero() || slices.Contains(sources, x.Source) {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.Rebind(`UPDATE finding_source SET ended_at = ? WHERE finding_id = ? AND source = ?`), ts, f.ID, x.Source); err != nil {
			return 0, err
		}
		ended++
	}
	return ended, nil
}

// FindingFilter selects recorded findings; empty fields match all.
type FindingFilter struct {
	Scope         string
	PURL          string
	VulnID        string // any ID of the group
	Ecosystem     string // base ecosystem or exact ecosystem
	Name          string
	Source        string // attributed (currently) to this source
	Ratings       []string
	IncludeClosed bool
}

// Findings returns recorded findings with their IDs and sources.
func (s *Store) Findings(ctx context.Context, f FindingFilter) ([]StoredFinding, error) {
	return s.findings(ctx, s.db, f)
}

type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

func (s *Store) findings(ctx context.Context, q querier, f FindingFilter) ([]StoredFinding, error) {
	sq := `SELECT f.id, f.scope, f.purl, f.ecosystem, f.name, f.version, f.vuln_id, f.rating, f.score, f.summary, f.first_seen, f.last_seen, f.closed_at, f.known_exploited, f.epss_percentile FROM finding f WHERE 1 = 1`
	var args []any
	add := func(cond string, v any) {
		sq += ` AND ` + cond
		args = append(args, v)
	}
	if f.Scope != "" {
		add(`f.scope = ?`, f.Scope)
	}
	if f.PURL != "" {
		add(`f.purl = ?`, f.PURL)
	}
	if f.VulnID != "" {
		add(`f.id IN (SELECT finding_id FROM finding_vuln WHERE vuln_id = ?)`, f.VulnID)
	}
	if f.Ecosystem != "" {
		sq += ` AND (f.ecosystem = ? OR f.ecosystem LIKE ?)`
		args = append(args, f.Ecosystem, f.Ecosystem+":%")
	}
	if f.Name != "" {
		add(`f.name = ?`, f.Name)
	}
	if f.Source != "" {
		add(`f.id IN (SELECT finding_id FROM finding_source WHERE source = ? AND ended_at = '')`, f.Source)
	}
	sq, args = inClause(sq, args, "f.rating", f.Ratings)
	if !f.IncludeClosed {
		sq += ` AND f.closed_at = ''`
	}
	rows, err := q.QueryContext(ctx, s.Rebind(sq+` ORDER BY f.scope, f.purl, f.vuln_id`), args...)
	if err != nil {
		return nil, err
	}
	var out []StoredFinding
	for rows.Next() {
		var x StoredFinding
		var first, last, closed string
		var kev int
		if err := rows.Scan(&x.ID, &x.Scope, &x.PURL, &x.Ecosystem, &x.Name, &x.Version, &x.VulnID, &x.Rating, &x.Score, &x.Summary, &first, &last, &closed, &kev, &x.EPSSPercentile); err != nil {
			rows.Close()
			return nil, err
		}
		x.FirstSeen, x.LastSeen, x.ClosedAt, x.KnownExploited = parseTime(first), parseTime(last), parseTime(closed), kev != 0
		out = append(out, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := s.loadFindingDetails(ctx, q, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) loadFindingDetails(ctx context.Context, q querier, f *StoredFinding) error {
	rows, err := q.QueryContext(ctx, s.Rebind(`SELECT vuln_id FROM finding_vuln WHERE finding_id = ? ORDER BY vuln_id`), f.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		f.IDs = append(f.IDs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, s.Rebind(`SELECT source, first_seen, last_seen, ended_at FROM finding_source WHERE finding_id = ? ORDER BY source`), f.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var x FindingSource
		var first, last, ended string
		if err := rows.Scan(&x.Source, &first, &last, &ended); err != nil {
			return err
		}
		x.FirstSeen, x.LastSeen, x.EndedAt = parseTime(first), parseTime(last), parseTime(ended)
		f.Sources = append(f.Sources, x)
	}
	return rows.Err()
}

// HasFinding reports whether any recorded finding (open or closed) carries
// the vulnerability ID.
func (s *Store) HasFinding(ctx context.Context, vulnID string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM finding_vuln WHERE vuln_id = ?`), vulnID).Scan(&n)
	return n > 0, err
}
