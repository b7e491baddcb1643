package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// This file holds the SQL of package feeds (internal/feed): feed
// definitions, the metadata and artifact cache index, tracked packages and
// the audit of gate decisions. Validation and semantics live in
// internal/feed.

// Feed is one package feed as stored.
type Feed struct {
	Name          string
	Type          string // npm, pypi, go, maven, nuget
	Upstream      string
	Sources       []string // osv, ossindex
	Unassessed    string   // allow, warn, block; "" inherits the assessment policy
	FilterBlocked bool
	MetadataTTL   time.Duration
	Description   string
	// AuditRequired: a download is served only once its decision is
	// written to the audit (fail closed when the database cannot take
	// it); otherwise decisions wait to be written while it is down.
	AuditRequired bool
	Created       time.Time
	Updated       time.Time
	// RequireApproval serves a package version only once it is approved
	// (feed_approval).
	RequireApproval bool
}

const feedCols = `name, type, upstream, sources, unassessed, filter_blocked, metadata_ttl, description, created, updated, audit_required, require_approval`

func scanFeed(r scanner) (Feed, error) {
	var f Feed
	var sources, created, updated string
	var filter, audit, approval int
	var ttl int64
	if err := r.Scan(&f.Name, &f.Type, &f.Upstream, &sources, &f.Unassessed, &filter, &ttl, &f.Description, &created, &updated, &audit, &approval); err != nil {
		return Feed{}, err
	}
	f.RequireApproval = approval != 0
	for s := range strings.SplitSeq(sources, ",") {
		if s = strings.TrimSpace(s); s != "" {
			f.Sources = append(f.Sources, s)
		}
	}
	f.FilterBlocked, f.AuditRequired = filter != 0, audit != 0
	f.MetadataTTL = time.Duration(ttl) * time.Second
	f.Created, f.Updated = parseTime(created), parseTime(updated)
	return f, nil
}

// Feeds lists every feed by name.
func (s *Store) Feeds(ctx context.Context) ([]Feed, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+feedCols+` FROM feed ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Feed
	for rows.Next() {
		f, err := scanFeed(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// FeedByName returns one feed, or an error wrapping ErrNotFound.
func (s *Store) FeedByName(ctx context.Context, name string) (Feed, error) {
	f, err := scanFeed(s.db.QueryRowContext(ctx, s.Rebind(`SELECT `+feedCols+` FROM feed WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return Feed{}, fmt.Errorf("feed %q: %w", name, ErrNotFound)
	}
	return f, err
}

// CreateFeed inserts a feed; a taken name gives an error wrapping ErrConflict.
func (s *Store) CreateFeed(ctx context.Context, f Feed, now time.Time) error {
	return s.SaveFeed(ctx, f, true, nil, now)
}

// UpdateFeed rewrites a feed's settings (not its name, type or created
// time); an unknown name gives an error wrapping ErrNotFound.
func (s *Store) UpdateFeed(ctx context.Context, f Feed, now time.Time) error {
	return s.SaveFeed(ctx, f, false, nil, now)
}

// SaveFeed creates (create true) or updates a feed and, when assessors is
// not nil, makes exactly those users (by name) hold the "assess" grant of
// scope "feed:NAME", all in one transaction. A taken name gives an error
// wrapping ErrConflict, an unknown feed one wrapping ErrNotFound, an
// unknown user one wrapping ErrInvalid.
func (s *Store) SaveFeed(ctx context.Context, f Feed, create bool, assessors []string, now time.Time) error {
	return s.SaveFeedWith(ctx, f, create, FeedGrants{Assessors: assessors}, now)
}

// FeedGrants are the users holding a feed's grants, by permission; a nil
// list keeps the current holders.
type FeedGrants struct {
	Assessors []string // "assess" grant of scope feed:NAME
	Approvers []string // "approve" grant of scope feed:NAME
}

// SaveFeedWith is SaveFeed setting the holders of both feed grants.
func (s *Store) SaveFeedWith(ctx context.Context, f Feed, create bool, grants FeedGrants, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if create {
			var n int
			if err := tx.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM feed WHERE name = ?`), f.Name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("feed %q: %w", f.Name, ErrConflict)
			}
			if _, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO feed (`+feedCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				f.Name, f.Type, f.Upstream, strings.Join(f.Sources, ","), f.Unassessed, boolInt(f.FilterBlocked),
				int64(f.MetadataTTL/time.Second), f.Description, fmtTime(now), fmtTime(now), boolInt(f.AuditRequired), boolInt(f.RequireApproval)); err != nil {
				return err
			}
		} else {
			res, err := tx.ExecContext(ctx, s.Rebind(`UPDATE feed SET upstream = ?, sources = ?, unassessed = ?, filter_blocked = ?, metadata_ttl = ?, description = ?, updated = ?, audit_required = ?, require_approval = ? WHERE name = ?`),
				f.Upstream, strings.Join(f.Sources, ","), f.Unassessed, boolInt(f.FilterBlocked), int64(f.MetadataTTL/time.Second), f.Description, fmtTime(now), boolInt(f.AuditRequired), boolInt(f.RequireApproval), f.Name)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("feed %q: %w", f.Name, ErrNotFound)
			}
		}
		if err := s.setFeedGrant(ctx, tx, f.Name, "assess", "assessor", grants.Assessors); err != nil {
			return err
		}
		return s.setFeedGrant(ctx, tx, f.Name, "approve", "approver", grants.Approvers)
	})
}

// DeleteFeed removes a feed with its cache index, tracked packages and the
// grants of its scope (the decision audit is kept). It returns the SHA-256 digests of artifacts no
// other feed references, so that the caller can remove the files.
func (s *Store) DeleteFeed(ctx context.Context, name string) ([]string, error) {
	var orphans []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		orphans = nil
		rows, err := tx.QueryContext(ctx, s.Rebind(`SELECT DISTINCT a.sha256 FROM feed_artifact a WHERE a.feed = ?
			AND NOT EXISTS (SELECT 1 FROM feed_artifact b WHERE b.sha256 = a.sha256 AND b.feed <> a.feed)`), name)
		if err != nil {
			return err
		}
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return err
			}
			orphans = append(orphans, h)
		}
		rows.Close()
		for _, q := range []string{`DELETE FROM feed_metadata WHERE feed = ?`, `DELETE FROM feed_artifact WHERE feed = ?`, `DELETE FROM feed_package WHERE feed = ?`, `DELETE FROM feed_approval WHERE feed = ?`} {
			if _, err := tx.ExecContext(ctx, s.Rebind(q), name); err != nil {
				return err
			}
		}
		// Grants of the feed's scope would otherwise carry over to a
		// later feed of the same name.
		if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM user_grant WHERE scope = ?`), FeedAssessScope(name)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM feed WHERE name = ?`), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("feed %q: %w", name, ErrNotFound)
		}
		return nil
	})
	return orphans, err
}

// FeedMetadata is one cached metadata document.
type FeedMetadata struct {
	ContentType string
	ETag        string
	FetchedAt   time.Time
	Body        []byte
}

// FeedMetadata returns the cached metadata under key; ok is false when
// there is none.
func (s *Store) FeedMetadata(ctx context.Context, feed, key string) (m FeedMetadata, ok bool, err error) {
	var at string
	err = s.db.QueryRowContext(ctx, s.Rebind(`SELECT content_type, etag, fetched_at, body FROM feed_metadata WHERE feed = ? AND cache_key = ?`), feed, key).
		Scan(&m.ContentType, &m.ETag, &at, &m.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return FeedMetadata{}, false, nil
	}
	if err != nil {
		return FeedMetadata{}, false, err
	}
	m.FetchedAt = parseTime(at)
	return m, true, nil
}

// PutFeedMetadata stores (replacing) the metadata under key.
func (s *Store) PutFeedMetadata(ctx context.Context, feed, key string, m FeedMetadata) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM feed_metadata WHERE feed = ? AND cache_key = ?`), feed, key); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO feed_metadata (feed, cache_key, content_type, etag, fetched_at, body) VALUES (?, ?, ?, ?, ?, ?)`),
			feed, key, m.ContentType, m.ETag, fmtTime(m.FetchedAt), m.Body)
		return err
	})
}

// TouchFeedMetadata marks cached metadata as fetched at t (the upstream
// answered "not modified").
func (s *Store) TouchFeedMetadata(ctx context.Context, feed, key string, t time.Time) error {
	_, err := s.exec(ctx, s.Rebind(`UPDATE feed_metadata SET fetched_at = ? WHERE feed = ? AND cache_key = ?`), fmtTime(t), feed, key)
	return err
}

// FeedArtifact is the cache index entry of one artifact.
type FeedArtifact struct {
	SHA256      string
	Size        int64
	ContentType string
	FetchedAt   time.Time
}

// FeedArtifact returns the cache entry under key; ok is false when none.
func (s *Store) FeedArtifact(ctx context.Context, feed, key string) (a FeedArtifact, ok bool, err error) {
	var at string
	err = s.db.QueryRowContext(ctx, s.Rebind(`SELECT sha256, size, content_type, fetched_at FROM feed_artifact WHERE feed = ? AND cache_key = ?`), feed, key).
		Scan(&a.SHA256, &a.Size, &a.ContentType, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return FeedArtifact{}, false, nil
	}
	if err != nil {
		return FeedArtifact{}, false, err
	}
	a.FetchedAt = parseTime(at)
	return a, true, nil
}

// PutFeedArtifact records (replacing) the cache entry under key.
func (s *Store) PutFeedArtifact(ctx context.Context, feed, key string, a FeedArtifact) error {
	// One statement: instances caching the same file at once both succeed.
	_, err := s.exec(ctx, s.Rebind(`INSERT INTO feed_artifact (feed, cache_key, sha256, size, content_type, fetched_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (feed, cache_key) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, content_type = excluded.content_type, fetched_at = excluded.fetched_at`),
		feed, key, a.SHA256, a.Size, a.ContentType, fmtTime(a.FetchedAt))
	return err
}

// DeleteFeedArtifact removes one cache entry (e.g. its file went missing).
func (s *Store) DeleteFeedArtifact(ctx context.Context, feed, key string) error {
	_, err := s.exec(ctx, s.Rebind(`DELETE FROM feed_artifact WHERE feed = ? AND cache_key = ?`), feed, key)
	return err
}

// FeedPackage is a package version seen through a feed.
type FeedPackage struct {
	Feed, PURL, Ecosystem, Name, Version string
	FirstSeen, LastSeen                  time.Time
	Decision                             string
	Downloads, Refused                   int64
}

// FeedDecision is one audited gate decision.
type FeedDecision struct {
	Seq                int64
	Feed, PURL, Effect string
	Reasons, Client    string
	Ecosystem, Name    string // for tracking; not stored in the audit row
	Version            string
	At                 time.Time
	// NoTrack leaves the tracked packages alone (a version hidden from
	// metadata was not downloaded); not stored.
	NoTrack bool
}

// RecordFeedDecisions appends decisions to the audit and updates the
// tracked packages they concern, in one transaction. Audit rows are
// inserted in multi-row statements and each package is updated once.
func (s *Store) RecordFeedDecisions(ctx context.Context, ds []FeedDecision) error {
	if len(ds) == 0 {
		return nil
	}
	type track struct {
		d                  FeedDecision
		downloads, refused int
	}
	var order []string
	tracks := map[string]*track{}
	for _, d := range ds {
		if d.NoTrack {
			continue
		}
		k := d.Feed + "\x00" + d.PURL
		tr, ok := tracks[k]
		if !ok {
			tr = &track{}
			tracks[k] = tr
			order = append(order, k)
		}
		tr.d = d // the latest decision wins
		if d.Effect == "block" || d.Effect == "unapproved" {
			tr.refused++
		} else {
			tr.downloads++
		}
	}
	// The statements are prepared (or found prepared) before the
	// transaction takes a connection: preparing waits for a free one.
	var sizes []int
	stmts := map[int]*sql.Stmt{}
	for left := len(ds); left > 0; {
		n := decisionRows[len(decisionRows)-1]
		for _, m := range decisionRows {
			if m <= left {
				n = m
				break
			}
		}
		if _, ok := stmts[n]; !ok {
			stmts[n] = s.prepared(ctx, s.decisionInsert(n))
		}
		sizes = append(sizes, n)
		left -= n
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		args := make([]any, 0, 6*sizes[0])
		i := 0
		for _, n := range sizes {
			args = args[:0]
			for _, d := range ds[i : i+n] {
				args = append(args, d.Feed, d.PURL, d.Effect, d.Reasons, d.Client, fmtTime(d.At))
			}
			var err error
			if st := stmts[n]; st != nil {
				_, err = tx.StmtContext(ctx, st).ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, s.decisionInsert(n), args...)
			}
			if err != nil {
				return err
			}
			i += n
		}
		for _, k := range order {
			tr := tracks[k]
			d, at := tr.d, fmtTime(tr.d.At)
			// One upsert, so that instances recording the same package at
			// once both succeed; nothing when the feed was deleted
			// meanwhile (the audit rows are kept).
			if _, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO feed_package (feed, purl, ecosystem, name, version, first_seen, last_seen, decision, downloads, refused)
SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM feed WHERE name = ?)
ON CONFLICT (feed, purl) DO UPDATE SET last_seen = excluded.last_seen, decision = excluded.decision,
 downloads = feed_package.downloads + excluded.downloads, refused = feed_package.refused + excluded.refused`),
				d.Feed, d.PURL, d.Ecosystem, d.Name, d.Version, at, at, d.Effect, tr.downloads, tr.refused, d.Feed); err != nil {
				return err
			}
		}
		return nil
	})
}

// decisionRows are the row counts of the audit's INSERT statements, the
// largest first: a batch is written with as few statements as these sizes
// allow, and each size's text is prepared once (stmtcache.go) instead of
// a statement of the batch's own size parsed for every batch.
var decisionRows = []int{128, 32, 8, 2, 1}

// decisionInsert is the INSERT of n audit rows in the store's dialect.
func (s *Store) decisionInsert(n int) string {
	k := decisionSQLKey{s.dialect, n}
	if q, ok := decisionSQL.Load(k); ok {
		return q.(string)
	}
	q := s.Rebind(`INSERT INTO feed_decision (feed, purl, effect, reasons, client, at) VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?), ", n), ", "))
	decisionSQL.Store(k, q)
	return q
}

// decisionSQL keeps decisionInsert's texts: decisionSQLKey -> string.
var decisionSQL sync.Map

type decisionSQLKey struct {
	dialect Dialect
	rows    int
}

// FeedDecisions returns the newest audited decisions of a feed ("" for
// all feeds), newest first, at most limit.
func (s *Store) FeedDecisions(ctx context.Context, feed string, limit int) ([]FeedDecision, error) {
	q := `SELECT seq, feed, purl, effect, reasons, client, at FROM feed_decision`
	var args []any
	if feed != "" {
		q += ` WHERE feed = ?`
		args = append(args, feed)
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, s.Rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FeedDecision
	for rows.Next() {
		var d FeedDecision
		var at string
		if err := rows.Scan(&d.Seq, &d.Feed, &d.PURL, &d.Effect, &d.Reasons, &d.Client, &at); err != nil {
			return nil, err
		}
		d.At = parseTime(at)
		out = append(out, d)
	}
	return out, rows.Err()
}

// FeedDecisionPage returns one page of a feed's audited decisions, newest
// first, optionally only those with effect ("" for all), and how many
// there are in all.
func (s *Store) FeedDecisionPage(ctx context.Context, feed, effect string, offset, limit int) ([]FeedDecision, int, error) {
	where, args := ` WHERE feed = ?`, []any{feed}
	if effect != "" {
		where += ` AND effect = ?`
		args = append(args, effect)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM feed_decision`+where), args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT seq, feed, purl, effect, reasons, client, at FROM feed_decision`+where+` ORDER BY seq DESC LIMIT ? OFFSET ?`),
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []FeedDecision{}
	for rows.Next() {
		var d FeedDecision
		var at string
		if err := rows.Scan(&d.Seq, &d.Feed, &d.PURL, &d.Effect, &d.Reasons, &d.Client, &at); err != nil {
			return nil, 0, err
		}
		d.At = parseTime(at)
		out = append(out, d)
	}
	return out, total, rows.Err()
}

// FeedPackagePage returns one page of a feed's tracked packages by
// package URL, optionally only those whose last decision is decision ("" for
// all), and how many there are in all.
func (s *Store) FeedPackagePage(ctx context.Context, feed, decision string, offset, limit int) ([]FeedPackage, int, error) {
	where, args := ` WHERE feed = ?`, []any{feed}
	if decision != "" {
		where += ` AND decision = ?`
		args = append(args, decision)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM feed_package`+where), args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT feed, purl, ecosystem, name, version, first_seen, last_seen, decision, downloads, refused FROM feed_package`+where+` ORDER BY purl LIMIT ? OFFSET ?`),
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []FeedPackage{}
	for rows.Next() {
		var p FeedPackage
		var first, last string
		if err := rows.Scan(&p.Feed, &p.PURL, &p.Ecosystem, &p.Name, &p.Version, &first, &last, &p.Decision, &p.Downloads, &p.Refused); err != nil {
			return nil, 0, err
		}
		p.FirstSeen, p.LastSeen = parseTime(first), parseTime(last)
		out = append(out, p)
	}
	return out, total, rows.Err()
}

// SetFeedPackageDecisions records the current decision (allow, warn,
// block) of tracked packages after a re-evaluation, by package URL, in
// one transaction; packages no longer tracked are skipped.
func (s *Store) SetFeedPackageDecisions(ctx context.Context, feed string, decisions map[string]string) error {
	if len(decisions) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for p, d := range decisions {
			if _, err := tx.ExecContext(ctx, s.Rebind(`UPDATE feed_package SET decision = ? WHERE feed = ? AND purl = ?`), d, feed, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// FeedPackages lists the packages tracked by a feed ("" for all feeds).
func (s *Store) FeedPackages(ctx context.Context, feed string) ([]FeedPackage, error) {
	q := `SELECT feed, purl, ecosystem, name, version, first_seen, last_seen, decision, downloads, refused FROM feed_package`
	var args []any
	if feed != "" {
		q += ` WHERE feed = ?`
		args = append(args, feed)
	}
	q += ` ORDER BY feed, purl`
	rows, err := s.db.QueryContext(ctx, s.Rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FeedPackage
	for rows.Next() {
		var p FeedPackage
		var first, last string
		if err := rows.Scan(&p.Feed, &p.PURL, &p.Ecosystem, &p.Name, &p.Version, &first, &last, &p.Decision, &p.Downloads, &p.Refused); err != nil {
			return nil, err
		}
		p.FirstSeen, p.LastSeen = parseTime(first), parseTime(last)
		out = append(out, p)
	}
	return out, rows.Err()
}

// GateVersion summarizes everything a gate decision depends on (mirrored
// partitions, OSS Index answers and settings, assessment types,
// assessments, policies, feed settings) as a short digest that changes whenever any of it does.
// Gates poll it to invalidate cached decisions.
func (s *Store) GateVersion(ctx context.Context) (string, error) {
	h := sha256.New()
	for _, q := range []string{
		`SELECT name || ':' || generation || ':' || watermark || ':' || records || ':' || withdrawn FROM partition_state ORDER BY name`,
		`SELECT COALESCE(MAX(seq), 0) || ':' || COUNT(*) FROM assessment_history`,
		`SELECT COUNT(*) FROM assessment`,
		`SELECT name || ':' || effect FROM assess_type ORDER BY name`,
		`SELECT scope || ':' || effect || ':' || set_at FROM assess_policy ORDER BY scope`,
		`SELECT COALESCE(MAX(fetched_at), '') || ':' || COUNT(*) FROM ossindex_component`,
		`SELECT name || ':' || updated FROM feed ORDER BY name`,
		// Approvals (gates keep what they looked up until this changes).
		`SELECT COALESCE(MAX(seq), 0) || ':' || COUNT(*) FROM feed_approval_event WHERE action <> 'request'`,
		// When the OSS Index settings change (not their secret values).
		`SELECT name || ':' || updated FROM setting WHERE name = 'source.ossindex'`,
	} {
		rows, err := s.db.QueryContext(ctx, q)
		if err != nil {
			return "", err
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return "", err
			}
			h.Write([]byte(v))
			h.Write([]byte{0})
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return "", err
		}
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}
