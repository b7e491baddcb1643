package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// This file holds the SQL of a project version's components and their
// findings: reading them, applying the changes internal/project decides, and
// the portfolio's queries over open findings.

// ProjectComponent is one component of a version's SBOM.
type ProjectComponent struct {
	ID        int64
	VersionID int64
	Seq       int
	PURL      string
	Name      string
	Version   string
	BOMRef    string
	Path      []string // dependency path from the root, root first
	Ecosystem string   // base ecosystem of the advisory index key, "" when not identifiable
	PkgName   string   // normalized name of the advisory index key
	Errors    []string // why the component could not be checked fully
	Findings  []ProjectFinding
}

// ProjectFinding is one finding of one component.
type ProjectFinding struct {
	ID          int64
	ComponentID int64
	VersionID   int64
	VulnID      string
	IDs         []string
	Rating      string
	Score       int // CVSS tenths, -1 when unknown
	Summary     string
	Sources     []string
	Fixed       []string
	Malicious   bool
	FirstSeen   time.Time
	LastSeen    time.Time
	ClosedAt    time.Time
	CloseReason string
}

// pathSep joins dependency path elements in the path column.
const pathSep = " > "

var projectFindingCols = []string{"component_id", "version_id", "vuln_id", "ids", "rating", "score", "summary", "sources", "fixed", "malicious", "first_seen", "last_seen", "closed_at", "close_reason"}

func (s *Store) insertProjectFindings(ctx context.Context, tx *sql.Tx, fs []ProjectFinding) error {
	rows := make([][]any, 0, len(fs))
	for _, f := range fs {
		rows = append(rows, []any{f.ComponentID, f.VersionID, f.VulnID, strings.Join(f.IDs, " "), f.Rating, f.Score, f.Summary,
			strings.Join(f.Sources, ","), strings.Join(f.Fixed, " "), boolInt(f.Malicious), fmtTime(f.FirstSeen), fmtTime(f.LastSeen), fmtTime(f.ClosedAt), f.CloseReason})
	}
	before, err := maxProjectFindingID(ctx, tx)
	if err != nil {
		return err
	}
	if err := insertMany(ctx, s, tx, "project_finding", projectFindingCols, rows); err != nil {
		return err
	}
	added, err := projectFindingIDsAfter(ctx, s, tx, before)
	if err != nil {
		return err
	}
	return s.indexProjectFindingIDs(ctx, tx, added)
}

const componentCols = `c.id, c.version_id, c.seq, c.purl, c.name, c.version, c.bom_ref, c.path, c.ecosystem, c.pkg_name, c.errors`

func scanComponent(r scanner) (ProjectComponent, error) {
	var c ProjectComponent
	var path, errs string
	err := r.Scan(&c.ID, &c.VersionID, &c.Seq, &c.PURL, &c.Name, &c.Version, &c.BOMRef, &path, &c.Ecosystem, &c.PkgName, &errs)
	c.Path, c.Errors = splitList(path, pathSep), splitList(errs, "\n")
	return c, err
}

const findingSelect = `SELECT f.id, f.component_id, f.version_id, f.vuln_id, f.ids, f.rating, f.score, f.summary, f.sources, f.fixed, f.malicious, f.first_seen, f.last_seen, f.closed_at, f.close_reason FROM project_finding f`

func scanProjectFinding(r scanner) (ProjectFinding, error) {
	var f ProjectFinding
	var ids, sources, fixed, first, last, closed string
	var mal int
	err := r.Scan(&f.ID, &f.ComponentID, &f.VersionID, &f.VulnID, &ids, &f.Rating, &f.Score, &f.Summary, &sources, &fixed, &mal, &first, &last, &closed, &f.CloseReason)
	f.IDs, f.Sources, f.Fixed = splitList(ids, " "), splitList(sources, ","), splitList(fixed, " ")
	f.Malicious, f.FirstSeen, f.LastSeen, f.ClosedAt = mal != 0, parseTime(first), parseTime(last), parseTime(closed)
	return f, err
}

// VersionComponents returns a version's components in SBOM order, each
// with its findings (open ones only unless includeClosed).
func (s *Store) VersionComponents(ctx context.Context, versionID int64, includeClosed bool) ([]ProjectComponent, error) {
	comps, err := queryAll(ctx, s.db, s.Rebind(`SELECT `+componentCols+` FROM project_component c WHERE c.version_id = ? ORDER BY c.seq`), []any{versionID}, scanComponent)
	if err != nil {
		return nil, err
	}
	q := findingSelect + ` WHERE f.version_id = ?`
	if !includeClosed {
		q += ` AND f.closed_at = ''`
	}
	fs, err := queryAll(ctx, s.db, s.Rebind(q+` ORDER BY f.component_id, f.vuln_id`), []any{versionID}, scanProjectFinding)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]int, len(comps))
	for i, c := range comps {
		byID[c.ID] = i
	}
	for _, f := range fs {
		if i, ok := byID[f.ComponentID]; ok {
			comps[i].Findings = append(comps[i].Findings, f)
		}
	}
	return comps, nil
}

// ComponentsOf returns the components, across all project versions, whose
// advisory index key is one of keys, or whose base ecosystem is one of
// ecosystems, each with its open findings: the components a change of those
// packages may affect. The lookup uses the (ecosystem, pkg_name) index, so
// its cost follows the number of matching components.
func (s *Store) ComponentsOf(ctx context.Context, keys []PackageKey, ecosystems []string) ([]ProjectComponent, error) {
	var out []ProjectComponent
	q := s.Rebind(`SELECT ` + componentCols + ` FROM project_component c WHERE c.ecosystem = ? AND c.pkg_name = ?`)
	for _, k := range keys {
		if slices.Contains(ecosystems, k.Ecosystem) {
			continue
		}
		cs, err := queryAll(ctx, s.db, q, []any{k.Ecosystem, k.Name}, scanComponent)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	for _, e := range ecosystems {
		cs, err := queryAll(ctx, s.db, s.Rebind(`SELECT `+componentCols+` FROM project_component c WHERE c.ecosystem = ?`), []any{e}, scanComponent)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	ids := make([]string, 0, len(out))
	idx := make(map[int64]int, len(out))
	for i, c := range out {
		ids = append(ids, fmt.Sprint(c.ID))
		idx[c.ID] = i
	}
	err := ossInChunks(ids, func(chunk []string) error {
		fs, err := queryAll(ctx, s.db, s.Rebind(findingSelect+` WHERE f.closed_at = '' AND f.component_id IN (`+ossPlaceholders(len(chunk))+`)`), ossArgs(chunk), scanProjectFinding)
		for _, f := range fs {
			out[idx[f.ComponentID]].Findings = append(out[idx[f.ComponentID]].Findings, f)
		}
		return err
	})
	return out, err
}

// FindingChanges is what one analysis changes in project findings.
type FindingChanges struct {
	New     []ProjectFinding
	Seen    []ProjectFinding // open findings seen again: rating, score, summary, sources, fixed, last_seen updated
	Closed  []ProjectFinding // with ClosedAt and CloseReason set
	Touched []int64          // versions analysed (analyzed time set)
	// ComponentErrors replaces the errors of components (by id).
	ComponentErrors map[int64][]string
}

// ApplyFindingChanges writes an analysis's changes in one transaction.
func (s *Store) ApplyFindingChanges(ctx context.Context, ch FindingChanges, now time.Time) error {
	ts := fmtTime(now)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertProjectFindings(ctx, tx, ch.New); err != nil {
			return err
		}
		changed, err := changedProjectFindingIDs(ctx, s, tx, ch.Seen)
		if err != nil {
			return err
		}
		if err := s.indexProjectFindingIDs(ctx, tx, changed); err != nil {
			return err
		}
		upd, err := tx.PrepareContext(ctx, s.Rebind(`UPDATE project_finding SET vuln_id = ?, ids = ?, rating = ?, score = ?, summary = ?, sources = ?, fixed = ?, malicious = ?, last_seen = ? WHERE id = ?`))
		if err != nil {
			return err
		}
		defer upd.Close()
		for _, f := range ch.Seen {
			if _, err := upd.ExecContext(ctx, f.VulnID, strings.Join(f.IDs, " "), f.Rating, f.Score, f.Summary, strings.Join(f.Sources, ","), strings.Join(f.Fixed, " "), boolInt(f.Malicious), ts, f.ID); err != nil {
				return err
			}
		}
		for _, f := range ch.Closed {
			if _, err := tx.ExecContext(ctx, s.Rebind(`UPDATE project_finding SET closed_at = ?, close_reason = ? WHERE id = ?`), fmtTime(f.ClosedAt), f.CloseReason, f.ID); err != nil {
				return err
			}
		}
		for id, errs := range ch.ComponentErrors {
			if _, err := tx.ExecContext(ctx, s.Rebind(`UPDATE project_component SET errors = ? WHERE id = ?`), strings.Join(errs, "\n"), id); err != nil {
				return err
			}
		}
		for _, v := range ch.Touched {
			if _, err := tx.ExecContext(ctx, s.Rebind(`UPDATE project_version SET analyzed = ? WHERE id = ?`), ts, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// PortfolioRow is one open finding of the portfolio with where it is.
type PortfolioRow struct {
	Project   string
	VersionID int64
	PURL      string
	Finding   ProjectFinding
}

// OpenProjectFindings streams every open project finding (of the named
// project, or all when project is ""), ordered by project, to fn.
func (s *Store) OpenProjectFindings(ctx context.Context, project string, fn func(PortfolioRow) error) error {
	q := `SELECT p.name, c.purl, f.id, f.component_id, f.version_id, f.vuln_id, f.ids, f.rating, f.score, f.summary, f.sources, f.fixed, f.malicious, f.first_seen, f.last_seen, f.closed_at, f.close_reason
FROM project_finding f JOIN project_component c ON c.id = f.component_id JOIN project_version v ON v.id = f.version_id JOIN project p ON p.id = v.project_id
WHERE f.closed_at = ''`
	var args []any
	if project != "" {
		q += ` AND p.name = ?`
		args = append(args, project)
	}
	rows, err := s.db.QueryContext(ctx, s.Rebind(q+` ORDER BY p.name`), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r PortfolioRow
		var rest []any
		f, err := scanProjectFinding(scanFunc(func(dest ...any) error {
			rest = append([]any{&r.Project, &r.PURL}, dest...)
			return rows.Scan(rest...)
		}))
		if err != nil {
			return err
		}
		r.Finding = f
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

type scanFunc func(...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// ProjectComponentCounts returns, per project, the number of components
// across its versions and of distinct package URLs.
func (s *Store) ProjectComponentCounts(ctx context.Context) (map[string][2]int, error) {
	rows, err := queryAll(ctx, s.db, `SELECT p.name, COUNT(*), COUNT(DISTINCT c.purl) FROM project_component c JOIN project_version v ON v.id = c.version_id JOIN project p ON p.id = v.project_id GROUP BY p.name`, nil,
		func(r scanner) (struct {
			name string
			n    [2]int
		}, error) {
			var x struct {
				name string
				n    [2]int
			}
			return x, r.Scan(&x.name, &x.n[0], &x.n[1])
		})
	out := map[string][2]int{}
	for _, r := range rows {
		out[r.name] = r.n
	}
	return out, err
}
