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

// This file holds the SQL of projects (internal/project): projects, their
// versions, the components of each version's SBOM and the findings of each
// component. What a finding is and when it opens or closes is decided in
// internal/project; the store keeps the rows and replaces a version's
// components in one transaction.

// Project is one project as stored.
type Project struct {
	ID          int64
	Name        string
	Description string
	Tags        []string
	Created     time.Time
	Updated     time.Time
}

// ProjectVersion is one version of a project.
type ProjectVersion struct {
	ID         int64
	ProjectID  int64
	Project    string
	Version    string
	Format     string // the SBOM format read
	FileName   string
	UploadedBy string
	Uploaded   time.Time
	Analyzed   time.Time
	Components int
}

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

// ProjectScope is the assessment and grant scope of a project, "project:NAME".
func ProjectScope(name string) string { return "project:" + name }

const projectCols = `id, name, description, tags, created, updated`

func scanProject(r scanner) (Project, error) {
	var p Project
	var tags, created, updated string
	err := r.Scan(&p.ID, &p.Name, &p.Description, &tags, &created, &updated)
	p.Tags, p.Created, p.Updated = splitList(tags, ","), parseTime(created), parseTime(updated)
	return p, err
}

func splitList(s, sep string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

// Projects lists every project by name.
func (s *Store) Projects(ctx context.Context) ([]Project, error) {
	return queryAll(ctx, s.db, `SELECT `+projectCols+` FROM project ORDER BY name`, nil, scanProject)
}

// ProjectByName returns one project, or an error wrapping ErrNotFound.
func (s *Store) ProjectByName(ctx context.Context, name string) (Project, error) {
	p, err := scanProject(s.db.QueryRowContext(ctx, s.Rebind(`SELECT `+projectCols+` FROM project WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return Project{}, fmt.Errorf("project %q: %w", name, ErrNotFound)
	}
	return p, err
}

// CreateProject adds a project; a taken name gives an error wrapping
// ErrConflict ("already exists").
func (s *Store) CreateProject(ctx context.Context, p Project, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.ensureProject(ctx, tx, p, now, true)
		return err
	})
}

// ensureProject returns the id of the project named p.Name, creating it
// when missing; with mustCreate an existing one is an error.
func (s *Store) ensureProject(ctx context.Context, tx *sql.Tx, p Project, now time.Time, mustCreate bool) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, s.Rebind(`SELECT id FROM project WHERE name = ?`), p.Name).Scan(&id)
	switch {
	case err == nil && mustCreate:
		return 0, fmt.Errorf("project %q: %w", p.Name, ErrConflict)
	case err == nil:
		return id, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, err
	}
	err = tx.QueryRowContext(ctx, s.Rebind(`INSERT INTO project (name, description, tags, created, updated) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		p.Name, p.Description, strings.Join(p.Tags, ","), fmtTime(now), fmtTime(now)).Scan(&id)
	return id, err
}

// UpdateProject changes a project's description and tags (nil: keep).
func (s *Store) UpdateProject(ctx context.Context, name string, description *string, tags []string, now time.Time) error {
	p, err := s.ProjectByName(ctx, name)
	if err != nil {
		return err
	}
	if description != nil {
		p.Description = *description
	}
	if tags != nil {
		p.Tags = tags
	}
	_, err = s.db.ExecContext(ctx, s.Rebind(`UPDATE project SET description = ?, tags = ?, updated = ? WHERE id = ?`),
		p.Description, strings.Join(p.Tags, ","), fmtTime(now), p.ID)
	return err
}

// DeleteProject removes a project with its versions, components and
// findings, the findings recorded in its scope and the grants of its scope.
// Assessments made in its scope and their history are kept.
func (s *Store) DeleteProject(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM project WHERE name = ?`), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("project %q: %w", name, ErrNotFound)
		}
		// Versions cascade; findings reference components only.
		if _, err := tx.ExecContext(ctx, `DELETE FROM project_finding WHERE NOT EXISTS (SELECT 1 FROM project_component c WHERE c.id = project_finding.component_id)`); err != nil {
			return err
		}
		scope := ProjectScope(name)
		for _, q := range []string{
			`DELETE FROM finding_vuln WHERE finding_id IN (SELECT id FROM finding WHERE scope = ?)`,
			`DELETE FROM finding_source WHERE finding_id IN (SELECT id FROM finding WHERE scope = ?)`,
			`DELETE FROM finding WHERE scope = ?`,
			`DELETE FROM user_grant WHERE scope = ?`,
		} {
			if _, err := tx.ExecContext(ctx, s.Rebind(q), scope); err != nil {
				return err
			}
		}
		return nil
	})
}

const versionCols = `v.id, v.project_id, p.name, v.version, v.format, v.file_name, v.uploaded_by, v.uploaded, v.analyzed,
	(SELECT COUNT(*) FROM project_component c WHERE c.version_id = v.id)`

func scanVersion(r scanner) (ProjectVersion, error) {
	var v ProjectVersion
	var up, an string
	err := r.Scan(&v.ID, &v.ProjectID, &v.Project, &v.Version, &v.Format, &v.FileName, &v.UploadedBy, &up, &an, &v.Components)
	v.Uploaded, v.Analyzed = parseTime(up), parseTime(an)
	return v, err
}

// ProjectVersions lists the versions of the named projects (all when
// names is empty), newest upload first within each project.
func (s *Store) ProjectVersions(ctx context.Context, names ...string) ([]ProjectVersion, error) {
	q := `SELECT ` + versionCols + ` FROM project_version v JOIN project p ON p.id = v.project_id WHERE 1 = 1`
	q, args := inClause(q, nil, "p.name", names)
	return queryAll(ctx, s.db, s.Rebind(q+` ORDER BY p.name, v.uploaded DESC, v.id DESC`), args, scanVersion)
}

// ProjectVersion returns one version, or an error wrapping ErrNotFound.
func (s *Store) ProjectVersion(ctx context.Context, project, version string) (ProjectVersion, error) {
	v, err := scanVersion(s.db.QueryRowContext(ctx, s.Rebind(`SELECT `+versionCols+` FROM project_version v JOIN project p ON p.id = v.project_id WHERE p.name = ? AND v.version = ?`), project, version))
	if errors.Is(err, sql.ErrNoRows) {
		return ProjectVersion{}, fmt.Errorf("project %q version %q: %w", project, version, ErrNotFound)
	}
	return v, err
}

// DeleteProjectVersion removes one version with its components and findings.
func (s *Store) DeleteProjectVersion(ctx context.Context, project, version string) error {
	v, err := s.ProjectVersion(ctx, project, version)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return s.deleteVersion(ctx, tx, v.ID) })
}

func (s *Store) deleteVersion(ctx context.Context, tx *sql.Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM project_finding WHERE version_id = ?`), id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM project_component WHERE version_id = ?`), id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM project_version WHERE id = ?`), id)
	return err
}

// VersionUpload is a version's new content.
type VersionUpload struct {
	Project    Project // created when missing (description and tags then apply)
	Version    string
	Format     string
	FileName   string
	UploadedBy string
	Components []ProjectComponent // with their findings; IDs are assigned
}

// ReplaceProjectVersion stores a version's components and findings,
// replacing what the version held before, in one transaction: readers see
// the old content or the new, never a mix. It returns the version's id.
func (s *Store) ReplaceProjectVersion(ctx context.Context, up VersionUpload, now time.Time) (int64, error) {
	var vid int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pid, err := s.ensureProject(ctx, tx, up.Project, now, false)
		if err != nil {
			return err
		}
		var old int64
		err = tx.QueryRowContext(ctx, s.Rebind(`SELECT id FROM project_version WHERE project_id = ? AND version = ?`), pid, up.Version).Scan(&old)
		if err == nil {
			if err := s.deleteVersion(ctx, tx, old); err != nil {
				return err
			}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		ts := fmtTime(now)
		if err := tx.QueryRowContext(ctx, s.Rebind(`INSERT INTO project_version (project_id, version, format, file_name, uploaded_by, uploaded, analyzed) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			pid, up.Version, up.Format, up.FileName, up.UploadedBy, ts, ts).Scan(&vid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.Rebind(`UPDATE project SET updated = ? WHERE id = ?`), ts, pid); err != nil {
			return err
		}
		rows := make([][]any, 0, len(up.Components))
		for i, c := range up.Components {
			rows = append(rows, []any{vid, i, c.PURL, c.Name, c.Version, c.BOMRef, strings.Join(c.Path, pathSep), c.Ecosystem, c.PkgName, strings.Join(c.Errors, "\n")})
		}
		if err := insertMany(ctx, s, tx, "project_component", []string{"version_id", "seq", "purl", "name", "version", "bom_ref", "path", "ecosystem", "pkg_name", "errors"}, rows); err != nil {
			return err
		}
		ids, err := queryAll(ctx, tx, s.Rebind(`SELECT id, seq FROM project_component WHERE version_id = ?`), []any{vid}, func(r scanner) ([2]int64, error) {
			var x [2]int64
			return x, r.Scan(&x[0], &x[1])
		})
		if err != nil {
			return err
		}
		bySeq := make(map[int64]int64, len(ids))
		for _, x := range ids {
			bySeq[x[1]] = x[0]
		}
		var fs []ProjectFinding
		for i, c := range up.Components {
			for _, f := range c.Findings {
				f.ComponentID, f.VersionID = bySeq[int64(i)], vid
				fs = append(fs, f)
			}
		}
		return s.insertProjectFindings(ctx, tx, fs)
	})
	return vid, err
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
	return insertMany(ctx, s, tx, "project_finding", projectFindingCols, rows)
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

// ProjectsAffectedBy lists the projects (name → versions) with an open
// finding carrying any of ids.
func (s *Store) ProjectsAffectedBy(ctx context.Context, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var conds []string
	var args []any
	for _, id := range ids {
		conds = append(conds, `(' ' || f.ids || ' ') LIKE ?`)
		args = append(args, "% "+id+" %")
	}
	type pv struct{ p, v string }
	rows, err := queryAll(ctx, s.db, s.Rebind(`SELECT DISTINCT p.name, v.version FROM project_finding f JOIN project_version v ON v.id = f.version_id JOIN project p ON p.id = v.project_id
WHERE f.closed_at = '' AND (`+strings.Join(conds, " OR ")+`) ORDER BY p.name, v.version`), args, func(r scanner) (pv, error) {
		var x pv
		return x, r.Scan(&x.p, &x.v)
	})
	for _, r := range rows {
		out[r.p] = append(out[r.p], r.v)
	}
	return out, err
}

// queryAll runs q and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

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

// SetGrantHolders makes exactly the named users hold the grant (perm,
// scope), in one transaction; an unknown user is the caller's mistake
// (ErrInvalid) and changes nothing.
func (s *Store) SetGrantHolders(ctx context.Context, perm, scope string, users []string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		ids := map[int64]bool{}
		for _, u := range users {
			var id int64
			err := tx.QueryRowContext(ctx, s.Rebind(`SELECT id FROM app_user WHERE username = ?`), u).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				return Invalid(fmt.Errorf("user %q: no such user", u))
			}
			if err != nil {
				return err
			}
			ids[id] = true
		}
		if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM user_grant WHERE permission = ? AND scope = ?`), perm, scope); err != nil {
			return err
		}
		for id := range ids {
			if _, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO user_grant (user_id, permission, scope) VALUES (?, ?, ?)`), id, perm, scope); err != nil {
				return err
			}
		}
		return nil
	})
}

// GrantHolders lists the users (by name) holding the grant (perm, scope)
// itself (not "*").
func (s *Store) GrantHolders(ctx context.Context, perm, scope string) ([]string, error) {
	out, err := queryAll(ctx, s.db, s.Rebind(`SELECT u.username FROM user_grant g JOIN app_user u ON u.id = g.user_id WHERE g.permission = ? AND g.scope = ? ORDER BY u.username`),
		[]any{perm, scope}, func(r scanner) (string, error) {
			var u string
			return u, r.Scan(&u)
		})
	if out == nil {
		out = []string{}
	}
	return out, err
}
