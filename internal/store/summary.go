package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// AdvisorySummary is the browsing index entry of one advisory in one
// partition. The server derives it from the record (severity, summary,
// packages); the store only keeps and filters it.
type AdvisorySummary struct {
	Partition string
	ID        string
	Modified  time.Time
	Published time.Time
	Source    string
	Ecosystem string   // the partition's base ecosystem
	Packages  []string // affected package names in that ecosystem
	Aliases   []string
	Severity  string // rating, e.g. "HIGH", "UNKNOWN"
	Score     float64
	// OwnCVSS: Severity and Score come from the record's own CVSS vector.
	// Otherwise the index may take them from the record's alias group
	// (SetGroupSeverities); SeverityFrom then names where from.
	OwnCVSS      bool
	SeverityFrom string
	Summary      string
	Withdrawn    bool
}

// SummaryVersions returns id -> modified of a partition's summaries.
func (s *Store) SummaryVersions(ctx context.Context, part string) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT id, modified FROM advisory_summary WHERE part = ?`), part)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id, mod string
		if err := rows.Scan(&id, &mod); err != nil {
			return nil, err
		}
		out[id] = parseTime(mod)
	}
	return out, rows.Err()
}

// SummaryAliases returns id -> aliases of the given summaries of a
// partition that are not withdrawn (those a severity may come from).
func (s *Store) SummaryAliases(ctx context.Context, part string, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		cond, args := inCond("id", ids[:n])
		ids = ids[n:]
		rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT id, aliases FROM advisory_summary WHERE withdrawn = 0 AND part = ? AND `+cond), append([]any{part}, args...)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, aliases string
			if err := rows.Scan(&id, &aliases); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = splitLines(aliases)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SummaryPartitions lists the partitions that have summaries.
func (s *Store) SummaryPartitions(ctx context.Context) ([]string, error) {
	return queryStrings(ctx, s.db, `SELECT DISTINCT part FROM advisory_summary`)
}

// EachRecord calls fn with every live record of a partition for which want
// returns true, inflated. It reads the partition's current generation.
func (s *Store) EachRecord(ctx context.Context, part string, want func(id string, modified time.Time) bool, fn func(id string, data []byte) error) error {
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT a.id, a.modified, a.data FROM advisory a JOIN partition_state p ON p.name = a.part AND p.generation = a.generation WHERE a.part = ?`), part)
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachInflated(rows, want, fn)
}

// ReplaceSummaries deletes the given IDs' summaries of a partition and
// inserts upserts, in one transaction. deleteAll drops the partition's
// summaries first.
//
// Rows are deleted and inserted summaryRowsPerStatement at a time, one
// statement each. The text search index (SQLite's FTS5, kept by
// triggers) writes what it has gathered to disk whenever a statement
// of the transaction begins (its savepoint), and each write is a segment
// that later merges rewrite: a statement per row made a segment per row
// (the corpus's 36,565 summaries: 5.9 s to index, 46% of it flushing and
// merging; 3.2 s a thousand rows to a statement).
func (s *Store) ReplaceSummaries(ctx context.Context, part string, deleteAll bool, deletes []string, upserts []AdvisorySummary) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if deleteAll {
			if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM advisory_summary WHERE part = ?`), part); err != nil {
				return err
			}
		}
		ids := make([]string, 0, len(deletes)+len(upserts))
		ids = append(ids, deletes...)
		for _, a := range upserts {
			ids = append(ids, a.ID)
		}
		for chunk := range slices.Chunk(ids, summaryRowsPerStatement) {
			q, args := inClause(`DELETE FROM advisory_summary WHERE part = ?`, []any{part}, "id", chunk)
			if _, err := tx.ExecContext(ctx, s.Rebind(q), args...); err != nil {
				return err
			}
		}
		const row = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
		for chunk := range slices.Chunk(upserts, summaryRowsPerStatement) {
			args := make([]any, 0, 15*len(chunk))
			for _, a := range chunk {
				args = append(args, part, a.ID, fmtTime(a.Modified), fmtTime(a.Published), a.Source, a.Ecosystem,
					strings.Join(a.Packages, "\n"), strings.Join(a.Aliases, "\n"), a.Severity, a.Score, a.Summary, srvBool(a.Withdrawn),
					a.Severity, a.Score, srvBool(a.OwnCVSS))
			}
			q := `INSERT INTO advisory_summary (part, id, modified, published, source, ecosystem, packages, aliases, severity, score, summary, withdrawn, own_severity, own_score, own_cvss) VALUES ` +
				row + strings.Repeat(`, `+row, len(chunk)-1)
			if _, err := tx.ExecContext(ctx, s.Rebind(q), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteSummaries deletes the given IDs' summaries of a partition,
// summaryRowsPerStatement at a time in ID order, each statement a
// transaction of its own (in the write's turn): the index's refresh
// removes the summaries of records gone from the source this way, which
// may be most of a partition. Inside a transaction a statement that fires
// triggers (the text search index's) keeps a journal of every page it
// changes, in memory and in 1 KiB chunks; for deletes scattered over a
// 300,000-summary table that took 3.2 s per 4,000 rows in one transaction
// of 16 KiB pages (1.8 s of 4 KiB pages), 1.4 s as statements of their
// own and 0.65 s in ID order. A failure leaves the summaries deleted
// before it deleted: the next refresh deletes the rest.
func (s *Store) DeleteSummaries(ctx context.Context, part string, ids []string) error {
	defer s.listsChanged()
	for chunk := range slices.Chunk(slices.Sorted(slices.Values(ids)), summaryRowsPerStatement) {
		q, args := inClause(`DELETE FROM advisory_summary WHERE part = ?`, []any{part}, "id", chunk)
		if _, err := s.exec(ctx, s.Rebind(q), args...); err != nil {
			return fmt.Errorf("store: delete summaries of %s: %w", part, err)
		}
	}
	return nil
}

// summaryRowsPerStatement bounds the rows of one of ReplaceSummaries'
// statements: 15,000 placeholders at most, under SQLite's 32,766 and
// PostgreSQL's 65,535.
const summaryRowsPerStatement = 1000

// SummaryFilter selects advisories to list. Empty fields match everything.
type SummaryFilter struct {
	Severities []string
	Sources    []string
	Ecosystems []string
	Query      string // substring of ID, alias, package or summary
	Withdrawn  bool   // include withdrawn advisories
	// Assessment keeps advisories by their assessment in AssessScope:
	// a type name, AssessedNone ("unassessed") or AssessedAny ("assessed").
	// The assessment of an advisory is that of its ID or one of its
	// aliases, the scope's own over the global one, then the most recent;
	// assessments expired at Now do not count.
	Assessment  string
	AssessScope string // "" or "global" for global assessments only
	// InScope keeps advisories that an open recorded finding of this scope
	// (e.g. "project:app", "feed:npm") carries.
	InScope string
	Now     time.Time
	Offset  int
	Limit   int
}

// Assessment filter values besides type names.
const (
	AssessedNone = "unassessed"
	AssessedAny  = "assessed"
)

// globalScope is the scope of global assessments (assess.Global).
const globalScope = "global"

// summaryAssessment is the SQL expression of an advisory summary's (alias
// s) assessment type name in a scope, NULL when unassessed. Its three
// placeholders take the scope, the scope again and now.
const summaryAssessment = `(SELECT a.type_name FROM assessment a
 WHERE a.scope IN (?, 'global') AND (a.expires_at = '' OR a.expires_at > ?)
 AND (a.vuln_id = s.id OR a.vuln_id IN (SELECT x.alias FROM advisory_alias x JOIN partition_state p ON p.name = x.part AND p.generation = x.generation WHERE x.part = s.part AND x.id = s.id))
 ORDER BY CASE WHEN a.scope = ? THEN 0 ELSE 1 END, a.assessed_at DESC LIMIT 1)`

func assessScope(sc string) string {
	if sc == "" {
		return globalScope
	}
	return sc
}

// assessedSummaries selects (part, id) of the advisories that have an
// assessment in the scope or globally, not expired, on their ID or one of
// their aliases. It is not correlated with the listed row: the engine
// builds it once per query from the (few) assessments, instead of running
// a subquery for every advisory. Its placeholders take scope, now, scope,
// now.
//
// CROSS JOIN fixes the join order (on SQLite) so that the assessments
// drive the alias index: the other way round read every alias row.
const assessedSummaries = `SELECT s2.part, s2.id FROM assessment a CROSS JOIN advisory_summary s2
 WHERE s2.id = a.vuln_id AND a.scope IN (?, 'global') AND (a.expires_at = '' OR a.expires_at > ?)
 UNION SELECT x.part, x.id FROM assessment a CROSS JOIN advisory_alias x CROSS JOIN partition_state p
 WHERE x.alias = a.vuln_id AND p.name = x.part AND p.generation = x.generation
 AND a.scope IN (?, 'global') AND (a.expires_at = '' OR a.expires_at > ?)`

// minTextIndexQuery is the shortest query the trigram indexes answer.
const minTextIndexQuery = 3

func (f SummaryFilter) where(d Dialect) (string, []any) {
	return f.whereText(d, false)
}

// whereText is where, with the text query checked row by row when perRow
// (a page of a common query on SQLite, see pageWhere).
func (f SummaryFilter) whereText(d Dialect, perRow bool) (string, []any) {
	var conds []string
	var args []any
	in := func(col string, vals []string) {
		if len(vals) > 0 {
			cond, vargs := inCond(col, vals)
			conds, args = append(conds, cond), append(args, vargs...)
		}
	}
	in("severity", f.Severities)
	in("source", f.Sources)
	in("ecosystem", f.Ecosystems)
	if !f.Withdrawn {
		conds = append(conds, "withdrawn = 0")
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		switch {
		case perRow && d == SQLite && isASCII(q):
			conds, args = append(conds, textInRow), append(args, strings.ToLower(q))
		case perRow && d == SQLite:
			conds, args = append(conds, ftsMatchesRow), append(args, ftsPhrase(q))
		case utf8.RuneCountInString(q) >= minTextIndexQuery && d == SQLite:
			// FTS5 trigram index: a quoted phrase matches as a
			// case-insensitive substring of any of the four columns.
			conds, args = append(conds, ftsMatches), append(args, ftsPhrase(q))
		case d == Postgres:
			// The expression of the pg_trgm index advisory_summary_text.
			conds = append(conds, `lower(s.id || E'\n' || s.aliases || E'\n' || s.packages || E'\n' || s.summary) LIKE ? ESCAPE '\'`)
			args = append(args, likePattern(q))
		default:
			like := likePattern(q)
			conds = append(conds, `(LOWER(id) LIKE ? ESCAPE '\' OR LOWER(aliases) LIKE ? ESCAPE '\' OR LOWER(packages) LIKE ? ESCAPE '\' OR LOWER(summary) LIKE ? ESCAPE '\')`)
			args = append(args, like, like, like, like)
		}
	}
	if f.InScope != "" {
		conds = append(conds, `s.id IN (SELECT x.id FROM finding f JOIN finding_vuln fv ON fv.finding_id = f.id
 JOIN advisory_alias x ON x.alias = fv.vuln_id JOIN partition_state p ON p.name = x.part AND p.generation = x.generation
 WHERE f.scope = ? AND f.closed_at = ''
 UNION SELECT fv.vuln_id FROM finding f JOIN finding_vuln fv ON fv.finding_id = f.id WHERE f.scope = ? AND f.closed_at = '')`)
		args = append(args, f.InScope, f.InScope)
	}
	if f.Assessment != "" {
		// Whole seconds: an assessment expiring within the current second
		// still counts, and the list's total can be reused (listcache.go).
		sc, now := assessScope(f.AssessScope), fmtTime(f.Now.Truncate(time.Second))
		switch f.Assessment {
		case AssessedNone:
			conds = append(conds, `(s.part, s.id) NOT IN (`+assessedSummaries+`)`)
			args = append(args, sc, now, sc, now)
		case AssessedAny:
			conds = append(conds, `(s.part, s.id) IN (`+assessedSummaries+`)`)
			args = append(args, sc, now, sc, now)
		default:
			// Candidates first (advisories with any assessment of the
			// type), then the exact rule on those.
			conds = append(conds, `s.id IN (SELECT a.vuln_id FROM assessment a WHERE a.type_name = ?
 UNION SELECT x.id FROM assessment a CROSS JOIN advisory_alias x WHERE x.alias = a.vuln_id AND a.type_name = ?)`, summaryAssessment+` = ?`)
			args = append(args, f.Assessment, f.Assessment, sc, now, sc, f.Assessment)
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Text search through the FTS5 index (SQLite). ftsMatches gathers the
// matching rows first, which a total needs and which suits a query
// matching few advisories; a page of a query matching many (a common
// word) would then sort them all: 0.2 s for a word in each of 300,000
// summaries. Such a page reads the list in order and checks each row's
// text, stopping after the page's matches: an ASCII query as a substring
// of the row's lower-cased columns (textInRow: what the trigram index
// matches, but for the few letters outside ASCII whose case folds into
// it, such as the Kelvin sign), another through the index row by row
// (ftsMatchesRow: ~0.2 ms a row, its trigrams' long lists searched
// each time). A page takes them when the query matches at least
// ftsWalkFrom advisories (counted up to that, through the count cache).
const (
	ftsMatches    = `s.rowid IN (SELECT rowid FROM advisory_summary_fts WHERE advisory_summary_fts MATCH ?)`
	ftsMatchesRow = `s.rowid IN (SELECT rowid FROM advisory_summary_fts WHERE advisory_summary_fts MATCH ? AND rowid = s.rowid)`
	textInRow     = `instr(lower(s.id || char(10) || s.aliases || char(10) || s.packages || char(10) || s.summary), ?) > 0`
)

// ftsWalkFrom is how many matches make a text query common (a variable
// for tests).
var ftsWalkFrom = 20000

// ftsPhrase is q as an FTS5 phrase: with the trigram tokenizer, a
// case-insensitive substring of any indexed column.
func ftsPhrase(q string) string {
	return `"` + strings.ReplaceAll(q, `"`, `""`) + `"`
}

// pageWhere is the condition of the page of f (where, args: the
// total's): with a common text query on SQLite the text is checked row by
// row.
func (s *Store) pageWhere(ctx context.Context, f SummaryFilter, where string, args []any) (string, []any, error) {
	if s.dialect != SQLite || !strings.Contains(where, ftsMatches) {
		return where, args, nil
	}
	phrase := ftsPhrase(strings.TrimSpace(f.Query))
	n, err := s.counts.get(ctx, "fts-common\x00"+phrase, func(ctx context.Context) (int, error) {
		var n int
		err := s.queryRowCached(ctx, `SELECT COUNT(*) FROM (SELECT rowid FROM advisory_summary_fts WHERE advisory_summary_fts MATCH ? LIMIT ?)`, phrase, ftsWalkFrom).Scan(&n)
		return n, err
	})
	if err != nil || n < ftsWalkFrom {
		return where, args, err
	}
	where, args = f.whereText(s.dialect, true)
	return where, args, nil
}

// isASCII tells whether s holds ASCII characters only.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// countKey names the filter's total in the count cache without the time
// it is asked at: a total with an assessment filter would otherwise be
// counted afresh every second (the filter's now), and the unassessed
// total is the costliest of all (every live advisory). Such a total may
// miss an assessment that expired in the last countTTL.
func (f SummaryFilter) countKey(d Dialect) string {
	f.Now = time.Time{}
	return countKey(f.where(d))
}

// ListSummaries returns one page of matching advisories, most severe and
// newest first, and the number of matches.
func (s *Store) ListSummaries(ctx context.Context, f SummaryFilter) ([]AdvisorySummary, int, error) {
	where, args := f.where(s.dialect)
	total, err := s.pageTotal(ctx, f.countKey(s.dialect), "advisory_summary s", where, args)
	if err != nil {
		return nil, 0, err
	}
	limit := pageLimit(f.Limit)
	if where, args, err = s.pageWhere(ctx, f, where, args); err != nil {
		return nil, 0, err
	}
	rows, err := s.queryCached(ctx, s.Rebind(`SELECT part, id, modified, published, source, ecosystem, packages, aliases, severity, score, summary, withdrawn, severity_from, own_cvss FROM advisory_summary s`+
		where+` ORDER BY score DESC, modified DESC, id, part LIMIT ? OFFSET ?`), append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []AdvisorySummary{}
	for rows.Next() {
		var a AdvisorySummary
		var mod, pub, pkgs, aliases string
		var wd, own int
		if err := rows.Scan(&a.Partition, &a.ID, &mod, &pub, &a.Source, &a.Ecosystem, &pkgs, &aliases, &a.Severity, &a.Score, &a.Summary, &wd, &a.SeverityFrom, &own); err != nil {
			return nil, 0, err
		}
		a.Modified, a.Published, a.Withdrawn, a.OwnCVSS = parseTime(mod), parseTime(pub), wd != 0, own != 0
		a.Packages, a.Aliases = splitLines(pkgs), splitLines(aliases)
		out = append(out, a)
	}
	return out, total, rows.Err()
}

func splitLines(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

// SummaryCount is a number of live advisories by a key.
type SummaryCount struct {
	Key   string
	Count int
}

// CountSummaries counts live advisories grouped by col: "severity",
// "ecosystem" or "source".
func (s *Store) CountSummaries(ctx context.Context, col string) ([]SummaryCount, error) {
	switch col {
	case "severity", "ecosystem", "source":
	default:
		col = "severity"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+col+`, COUNT(*) FROM advisory_summary WHERE withdrawn = 0 GROUP BY `+col+` ORDER BY `+col)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SummaryCount
	for rows.Next() {
		var c SummaryCount
		if err := rows.Scan(&c.Key, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// GroupSeverityRow is what resolving severities by alias group needs of an
// index entry.
type GroupSeverityRow struct {
	Partition    string
	ID           string
	Aliases      []string
	OwnSeverity  string
	OwnScore     float64
	OwnCVSS      bool
	Severity     string // as the index shows it now
	Score        float64
	SeverityFrom string
}

// GroupSeverityRows returns every live index entry's own and shown
// severity.
func (s *Store) GroupSeverityRows(ctx context.Context) ([]GroupSeverityRow, error) {
	return s.groupSeverityRows(ctx, nil, `SELECT part, id, aliases, own_severity, own_score, own_cvss, severity, score, severity_from FROM advisory_summary WHERE withdrawn = 0`)
}

// GroupSeverityRowsOf returns the live index entries (with an own CVSS
// score only, when ownCVSS is set) whose ID or one of whose record's
// aliases is one of ids, and maybe others: callers match the aliases.
func (s *Store) GroupSeverityRowsOf(ctx context.Context, ids []string, ownCVSS bool) ([]GroupSeverityRow, error) {
	var out []GroupSeverityRow
	seen := map[[2]string]bool{}
	for len(ids) > 0 {
		n := min(len(ids), 400)
		cond, args := inCond("id", ids[:n])
		acond, _ := inCond("x.alias", ids[:n])
		ids = ids[n:]
		q := `SELECT part, id, aliases, own_severity, own_score, own_cvss, severity, score, severity_from FROM advisory_summary s WHERE withdrawn = 0`
		if ownCVSS {
			q += ` AND own_cvss = 1`
		}
		q += ` AND (s.` + cond + ` OR (s.part, s.id) IN (SELECT x.part, x.id FROM advisory_alias x JOIN partition_state p ON p.name = x.part AND p.generation = x.generation WHERE ` + acond + `))`
		got, err := s.groupSeverityRows(ctx, append(args, args...), s.Rebind(q))
		if err != nil {
			return nil, err
		}
		for _, r := range got {
			if k := [2]string{r.Partition, r.ID}; !seen[k] {
				seen[k] = true
				out = append(out, r)
			}
		}
	}
	return out, nil
}

func (s *Store) groupSeverityRows(ctx context.Context, args []any, q string) ([]GroupSeverityRow, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []GroupSeverityRow
	for rows.Next() {
		var r GroupSeverityRow
		var aliases string
		var cvss int
		if err := rows.Scan(&r.Partition, &r.ID, &aliases, &r.OwnSeverity, &r.OwnScore, &cvss, &r.Severity, &r.Score, &r.SeverityFrom); err != nil {
			return nil, err
		}
		r.Aliases, r.OwnCVSS = splitLines(aliases), cvss != 0
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetGroupSeverities writes the severities shown for index entries, in one
// transaction.
func (s *Store) SetGroupSeverities(ctx context.Context, rows []GroupSeverityRow) error {
	if len(rows) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		up, err := tx.PrepareContext(ctx, s.Rebind(`UPDATE advisory_summary SET severity = ?, score = ?, severity_from = ? WHERE part = ? AND id = ?`))
		if err != nil {
			return err
		}
		defer up.Close()
		for _, r := range rows {
			if _, err := up.ExecContext(ctx, r.Severity, r.Score, r.SeverityFrom, r.Partition, r.ID); err != nil {
				return err
			}
		}
		return nil
	})
}
