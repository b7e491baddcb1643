package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file holds the SQL of projects (internal/project): projects and
// their versions; the components of each version's SBOM and the findings of
// each component are in project_findings.go. What a finding is and when it
// opens or closes is decided in internal/project; the store keeps the rows
// and replaces a version's components in one transaction.

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
	_, err = s.exec(ctx, s.Rebind(`UPDATE project SET description = ?, tags = ?, updated = ? WHERE id = ?`),
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
	var added int
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
		added = len(fs)
		return s.insertProjectFindings(ctx, tx, fs)
	})
	if err == nil && s.dialect == Postgres && added >= analyzeFindingsFrom {
		// As after recording findings (RecordFindings): the lookup of
		// ProjectsAffectedBy needs plans that know the tables' sizes.
		s.analyzeGrown(ctx, "project_finding", int64(added), 10, `project_finding, project_finding_vuln`, 0)
	}
	return vid, err
}
