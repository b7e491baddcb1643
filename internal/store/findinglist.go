package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// This file lists recorded open findings one page at a time (the findings
// API and pages, a project's findings, the dashboard's counts).

// FindingPageFilter selects recorded open findings to list, one page at a
// time. Empty fields match everything.
type FindingPageFilter struct {
	Scopes     []string // scopes the findings were recorded in
	Ecosystems []string // base or exact ecosystems
	Ratings    []string // severity ratings (upper case)
	Sources    []string // currently attributed to one of these sources
	Query      string   // substring of an ID or alias, or of the package URL
	// Assessment keeps findings by the assessment that applies to them
	// in their scope (the scope's own over the global one, then the most
	// recent, of any ID of the group, not expired at Now): a type name,
	// AssessedNone or AssessedAny.
	Assessment string
	Now        time.Time
	Offset     int
	Limit      int
}

// FindingRow is one listed finding with the name of the assessment type
// that applies to it ("" when unassessed).
type FindingRow struct {
	StoredFinding
	Assessment string
}

// findingAssessment is the SQL expression of a finding's (alias f)
// assessment type name, NULL when unassessed; its placeholder takes now.
const findingAssessment = `(SELECT a.type_name FROM finding_vuln fv JOIN assessment a ON a.vuln_id = fv.vuln_id
 WHERE fv.finding_id = f.id AND (a.scope = f.scope OR a.scope = 'global') AND (a.expires_at = '' OR a.expires_at > ?)
 ORDER BY CASE WHEN a.scope = f.scope THEN 0 ELSE 1 END, a.assessed_at DESC LIMIT 1)`

// assessedFindings selects the IDs of findings that have an assessment in
// their scope or globally, not expired at now, on one of their IDs. Not
// correlated with the listed row, it is built once per query from the
// assessments. For a list of some scopes the other scopes' assessments
// are left out first: they apply to no listed finding, and a project's
// total would otherwise walk every project's assessed findings (at two
// uploads of 39,201 findings with 999 assessments each, 36,812 pairs for
// a project of 10,000 findings: most of its total's time).
func assessedFindings(scopes []string, now string) (string, []any) {
	q := `SELECT fv.finding_id FROM assessment a CROSS JOIN finding_vuln fv CROSS JOIN finding f2
 WHERE fv.vuln_id = a.vuln_id AND f2.id = fv.finding_id
 AND (a.scope = f2.scope OR a.scope = 'global') AND (a.expires_at = '' OR a.expires_at > ?)`
	args := []any{now}
	if len(scopes) > 0 {
		cond, sargs := inCond("a.scope", append([]string{"global"}, scopes...))
		q += ` AND ` + cond
		args = append(args, sargs...)
	}
	return q, args
}

// where is the filter's condition on finding f and its arguments. The
// unassessed condition gathers the assessed findings first: a page reads
// the whole list once (unassessedPage), not a subquery per row.
func (f FindingPageFilter) where() (string, []any) {
	conds := []string{`f.closed_at = ''`}
	var args []any
	in := func(expr string, vals []string) {
		if len(vals) > 0 {
			cond, vargs := inCond(expr, vals)
			conds, args = append(conds, cond), append(args, vargs...)
		}
	}
	in("f.scope", f.Scopes)
	in("f.rating", f.Ratings)
	if len(f.Ecosystems) > 0 {
		var ors []string
		for _, e := range f.Ecosystems {
			ors = append(ors, `f.ecosystem = ? OR f.ecosystem LIKE ?`)
			args = append(args, e, e+":%")
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	if len(f.Sources) > 0 {
		conds = append(conds, `f.id IN (SELECT finding_id FROM finding_source WHERE ended_at = '' AND source IN (?`+strings.Repeat(", ?", len(f.Sources)-1)+`))`)
		for _, v := range f.Sources {
			args = append(args, v)
		}
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		like := likePattern(q)
		conds = append(conds, `(LOWER(f.purl) LIKE ? ESCAPE '\' OR f.id IN (SELECT finding_id FROM finding_vuln WHERE LOWER(vuln_id) LIKE ? ESCAPE '\'))`)
		args = append(args, like, like)
	}
	now := fmtTime(f.Now)
	switch f.Assessment {
	case "":
	case AssessedNone:
		q, qargs := assessedFindings(f.Scopes, now)
		conds, args = append(conds, `f.id NOT IN (`+q+`)`), append(args, qargs...)
	case AssessedAny:
		q, qargs := assessedFindings(f.Scopes, now)
		conds, args = append(conds, `f.id IN (`+q+`)`), append(args, qargs...)
	default:
		conds = append(conds, `f.id IN (SELECT fv.finding_id FROM finding_vuln fv JOIN assessment a ON a.vuln_id = fv.vuln_id WHERE a.type_name = ?)`, findingAssessment+` = ?`)
		args = append(args, f.Assessment, now, f.Assessment)
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// countKey names the filter's total in the count cache without the time
// it is asked at (as SummaryFilter.countKey does): with an assessment
// filter the key would otherwise change on every request. Such a total
// may miss an assessment that expired in the last countTTL.
func (f FindingPageFilter) countKey() string {
	f.Now = time.Time{}
	where, args := f.where()
	return countKey("finding"+where, args)
}

// ListOpenFindings returns one page of open findings, most severe first,
// with the assessment that applies to each, and the number of matches.
// One statement reads the page with each finding's IDs and sources (as
// JSON arrays, see pageFindingsQuery), so that a page costs the same
// however many findings are recorded. A page of one scope reads its
// entries in order from the finding_open_by_scope_in_order index, and the
// total goes through the count cache (listcache.go).
func (s *Store) ListOpenFindings(ctx context.Context, f FindingPageFilter) ([]FindingRow, int, error) {
	var total int
	var err error
	assessment := `COALESCE(` + findingAssessment + `, '')`
	limit, offset := pageLimit(f.Limit), max(f.Offset, 0)
	where, args := f.where()
	byID := false
	if f.Assessment == AssessedNone {
		var ids []any
		ids, total, byID, err = s.unassessedPage(ctx, f, where, args)
		switch {
		case err != nil:
			return nil, 0, err
		case byID && len(ids) == 0:
			return []FindingRow{}, total, nil
		case byID:
			where, args = ` WHERE f.id IN (`+inList(len(ids))+`)`, ids
			limit, offset = len(ids), 0
		default:
			if total, err = s.pageTotal(ctx, f.countKey(), "finding f", where, args); err != nil {
				return nil, 0, err
			}
			where, args = f.whereRowByRow()
		}
		assessment = `''` // by the filter
	} else {
		if total, err = s.pageTotal(ctx, f.countKey(), "finding f", where, args); err != nil {
			return nil, 0, err
		}
		args = append([]any{fmtTime(f.Now)}, args...)
	}
	var order map[int64]int // a page read by ID: its IDs' places in the list
	if byID {
		order = make(map[int64]int, len(args))
		for i, id := range args {
			order[id.(int64)] = i
		}
	}
	rows, err := s.queryCached(ctx, s.Rebind(s.pageFindingsQuery(assessment, where, !byID)), append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []FindingRow{}
	if order != nil { // each row goes to its place
		out = make([]FindingRow, len(order))
	}
	for rows.Next() {
		var x FindingRow
		var first, last string
		var ids, sources sql.RawBytes
		if err := rows.Scan(&x.ID, &x.Scope, &x.PURL, &x.Ecosystem, &x.Name, &x.Version, &x.VulnID, &x.Rating, &x.Score, &x.Summary, &first, &last, &x.Assessment, &ids, &sources); err != nil {
			return nil, 0, err
		}
		x.FirstSeen, x.LastSeen = parseTime(first), parseTime(last)
		if x.IDs, err = jsonStrings(ids); err != nil {
			return nil, 0, fmt.Errorf("store: finding %d: IDs %s: %w", x.ID, clipped(ids), err)
		}
		if x.Sources, err = findingSources(sources); err != nil {
			return nil, 0, fmt.Errorf("store: finding %d: %w", x.ID, err)
		}
		// In byte order on both engines, whichever wrote the arrays
		// (the store, or migration 00165 in the engine's collation).
		slices.Sort(x.IDs)
		slices.SortFunc(x.Sources, func(a, b FindingSource) int { return strings.Compare(a.Source, b.Source) })
		if i, ok := order[x.ID]; ok {
			out[i] = x
			continue
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if order != nil { // a finding closed since its ID was listed has no row
		out = slices.DeleteFunc(out, func(x FindingRow) bool { return x.ID == 0 })
	}
	return out, total, nil
}

// findingOrder is the order of listed findings: most severe first.
const findingOrder = ` ORDER BY f.score DESC, f.vuln_id, f.scope, f.purl, f.id`

// pageFindingsQuery is the statement of a page of findings (alias f,
// filtered by where), each row with its assessment (the SQL expression
// given), then its IDs and its sources (source, first seen, last seen,
// ended, one array each) as JSON arrays, which the finding row carries
// (finding_lists.go): one statement where a page and two IN-lists of its
// IDs were three, and no subquery per row (the two that read the arrays
// were half of a page's cost). Unless ordered, the rows (of a page chosen
// by ID, where the caller puts them in order) come in any order on
// SQLite: its sort of the page's rows was a fifth of an unassessed page's
// cost.
func (s *Store) pageFindingsQuery(assessment, where string, ordered bool) string {
	q := `SELECT f.id, f.scope, f.purl, f.ecosystem, f.name, f.version, f.vuln_id, f.rating, f.score, f.summary, f.first_seen, f.last_seen, ` +
		assessment + `, f.ids_json, f.sources_json FROM finding f` + where
	if ordered || s.dialect != SQLite {
		q += findingOrder
	}
	return q + ` LIMIT ? OFFSET ?`
}

// findingSources decodes a finding's sources as pageFindingsQuery reads
// them: a JSON array of [source, first seen, last seen, ended] arrays. A
// malformed array (corrupt data) is an error naming it and what is wrong.
func findingSources(raw []byte) ([]FindingSource, error) {
	src, err := jsonStrings(raw)
	if err == nil && len(src)%4 != 0 {
		err = fmt.Errorf("%d strings, not groups of 4 (source, first seen, last seen, ended)", len(src))
	}
	if err != nil {
		return nil, fmt.Errorf("sources %s: %w", clipped(raw), err)
	}
	var out []FindingSource
	for i := 0; i < len(src); i += 4 {
		out = append(out, FindingSource{Source: src[i], FirstSeen: parseTime(src[i+1]), LastSeen: parseTime(src[i+2]), EndedAt: parseTime(src[i+3])})
	}
	return out, nil
}

// clipped quotes stored text for an error message, its first 100 bytes.
func clipped(b []byte) string {
	if len(b) > 100 {
		return fmt.Sprintf("%q...", b[:100])
	}
	return fmt.Sprintf("%q", b)
}

// jsonStrings returns the strings of a JSON array of strings, or of
// arrays of strings, in order with the nesting flattened, as SQLite's
// json_group_array and PostgreSQL's json_agg write them; NULL (no rows in
// PostgreSQL) is none. Without a backslash every string is the text
// between two quotes, and the strings share one copy of b (two
// allocations per array instead of one per string and the slice's
// growth: half of the cost of reading a page's IDs and sources); escaped
// text is decoded by jsontext.
func jsonStrings(b []byte) ([]string, error) {
	var out []string
	if bytes.IndexByte(b, '\\') < 0 {
		quotes := bytes.Count(b, []byte{'"'})
		if quotes == 0 {
			return nil, nil
		}
		text := string(b)
		out = make([]string, 0, quotes/2)
		for i := 0; i < len(text); i++ {
			if text[i] != '"' {
				continue
			}
			j := strings.IndexByte(text[i+1:], '"')
			if j < 0 {
				return nil, errors.New("unterminated JSON string")
			}
			out = append(out, text[i+1:i+1+j])
			i += j + 1
		}
		return out, nil
	}
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.ReadToken()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if tok.Kind() == '"' {
			out = append(out, tok.String())
		}
	}
}

// FindingScopes lists the scopes that have open recorded findings.
func (s *Store) FindingScopes(ctx context.Context) ([]string, error) {
	return queryStrings(ctx, s.db, `SELECT DISTINCT scope FROM finding WHERE closed_at = '' ORDER BY scope`)
}
