package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// The SQL of recorded findings (scans, feeds) and their source attribution;
// what a finding is and when it opens or closes is decided by the callers.

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
				var stored []FindingSource // its source rows as they are
				if ok {
					stored = sf.Sources
				}
				sources := attributed(stored, of.Sources, now, p.Complete)
				if !ok {
					id, err := s.insertFinding(ctx, tx, scope, p, of, sources, ts)
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
					// IDs accumulate: an ID once seen in the group keeps
					// identifying the finding.
					if _, err := tx.ExecContext(ctx, s.Rebind(`UPDATE finding SET vuln_id = ?, rating = ?, score = ?, summary = ?, last_seen = ?, closed_at = '', known_exploited = ?, epss_percentile = ?, ids_json = ?, sources_json = ? WHERE id = ?`),
						of.VulnID, of.Rating, of.Score, of.Summary, ts, boolInt(of.KnownExploited), epssOrNone(of.EPSSPercentile),
						findingIDsJSON(slices.Concat(sf.IDs, of.IDs)), findingSourcesJSON(sources), sf.ID); err != nil {
						return err
					}
					if err := s.insertIDs(ctx, tx, sf.ID, of.IDs); err != nil {
						return err
					}
				}
				seen[sf.ID] = true
				n, err := s.attribute(ctx, tx, sf.ID, stored, sources)
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
				sources := attributed(f.Sources, nil, now, true)
				n, err := s.attribute(ctx, tx, f.ID, f.Sources, sources)
				if err != nil {
					return err
				}
				res.Ended += n
				if _, err := tx.ExecContext(ctx, s.Rebind(`UPDATE finding SET closed_at = ?, sources_json = ? WHERE id = ?`), ts, findingSourcesJSON(sources), f.ID); err != nil {
					return err
				}
				f.ClosedAt = now
				res.Closed = append(res.Closed, *f)
			}
		}
		return nil
	})
	if err == nil && s.dialect == Postgres && len(res.New) >= analyzeFindingsFrom {
		// A project's first upload: the list of its findings needs plans
		// that know the tables' sizes (see ListOpenFindings). Failing
		// here changes nothing recorded; autovacuum analyzes later.
		s.analyzeGrown(ctx, "finding", int64(len(res.New)), 10, `finding, finding_vuln`, 0)
	}
	return res, err
}

// analyzeFindingsFrom is the least number of new findings of one
// recording that may refresh PostgreSQL's statistics of the finding tables.
const analyzeFindingsFrom = 1000

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

// insertFinding inserts a new finding of p, with the sources it will have
// once attributed (see finding_lists.go).
func (s *Store) insertFinding(ctx context.Context, tx *sql.Tx, scope string, p ObservedPackage, of ObservedFinding, sources []FindingSource, ts string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, s.Rebind(`INSERT INTO finding (scope, purl, ecosystem, name, version, vuln_id, rating, score, summary, first_seen, last_seen, known_exploited, epss_percentile, ids_json, sources_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		scope, p.PURL, p.Ecosystem, p.Name, p.Version, of.VulnID, of.Rating, of.Score, of.Summary, ts, ts, boolInt(of.KnownExploited), epssOrNone(of.EPSSPercentile),
		findingIDsJSON(of.IDs), findingSourcesJSON(sources)).Scan(&id)
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

// attribute writes finding id's source rows as attributed left them
// (after; stored: the rows as they are): new sources are inserted, those
// touched, restarted or ended are updated. It returns how many
// attributions ended.
func (s *Store) attribute(ctx context.Context, tx *sql.Tx, id int64, stored, after []FindingSource) (int, error) {
	ended := 0
	for _, x := range after {
		i := slices.IndexFunc(stored, func(y FindingSource) bool { return y.Source == x.Source })
		var err error
		switch {
		case i < 0:
			_, err = tx.ExecContext(ctx, s.Rebind(`INSERT INTO finding_source (finding_id, source, first_seen, last_seen, ended_at) VALUES (?, ?, ?, ?, ?)`),
				id, x.Source, fmtTime(x.FirstSeen), fmtTime(x.LastSeen), fmtTime(x.EndedAt))
		case !x.LastSeen.Equal(stored[i].LastSeen) || !x.EndedAt.Equal(stored[i].EndedAt):
			_, err = tx.ExecContext(ctx, s.Rebind(`UPDATE finding_source SET last_seen = ?, ended_at = ? WHERE finding_id = ? AND source = ?`),
				fmtTime(x.LastSeen), fmtTime(x.EndedAt), id, x.Source)
			if stored[i].EndedAt.IsZero() && !x.EndedAt.IsZero() {
				ended++
			}
		}
		if err != nil {
			return 0, err
		}
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
