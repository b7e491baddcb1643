package store

import (
	"context"
	"io/fs"
	"strconv"
	"strings"
)

// migrated reports whether every migration in sub is recorded as applied
// in goose's table, so that opening a database already up to date skips
// goose: its provider parses every migration file before it can tell
// (~5 ms of each command's start on issue 16's session-16 machine, a
// twentieth of a keycloak scan). Any doubt (no table yet, an unreadable
// file name, a query error) answers false and leaves the decision to goose.
// Versions the table holds beyond sub's (a newer build's) are goose's
// business as before: they do not make this false.
func (s *Store) migrated(ctx context.Context, sub fs.FS) bool {
	want, ok := migrationVersions(sub)
	if !ok {
		return false
	}
	rows, err := s.db.QueryContext(ctx, `SELECT version_id FROM `+VersionTable+` WHERE is_applied`)
	if err != nil {
		return false
	}
	defer rows.Close()
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		if rows.Scan(&v) != nil {
			return false
		}
		applied[v] = true
	}
	if rows.Err() != nil {
		return false
	}
	for _, v := range want {
		if !applied[v] {
			return false
		}
	}
	return true
}

// migrationVersions lists the versions of sub's migrations: the number
// each .sql file's name starts with, as goose reads it. ok is false when a
// name does not start with one.
func migrationVersions(sub fs.FS) (versions []int64, ok bool) {
	entries, err := fs.ReadDir(sub, ".")
	if err != nil {
		return nil, false
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v < 1 {
			return nil, false
		}
		versions = append(versions, v)
	}
	return versions, len(versions) > 0
}
