// Package backup implements vulngate's backups and restores, and moving a
// store from one engine to the other: `vulngate backup`, `restore`,
// `migrate --to` and the scheduled backup job.
//
// A backup is a consistent snapshot of the store taken while it is in use
// (store.Snapshot: one read transaction on SQLite in WAL mode, one
// REPEATABLE READ transaction on PostgreSQL), written in the engine-neutral
// file of package archive: a zip archive holding manifest.json (format,
// vulngate version, source engine, creation time, schema version and
// applied migrations, each table with its columns, row count, size and
// SHA-256 digest, the tables left out and why, notes) and one JSON Lines
// file per table. The
// tables are discovered from the schema and classified (classes.go): what
// people made is always carried, mirrored advisories and their indexes
// unless WithoutAdvisories, caches and process state never. Rows of
// mirror imports in progress at backup time are left out, so the
// snapshot's mirror is the one readers saw.
//
// A restore builds a scratch database beside its target (store.Scratch),
// migrated to the backup's schema version, loads every table while
// checking it against the manifest, applies the newer migrations of this
// binary, and only then replaces the target: a corrupt or truncated file,
// or a failure of any kind, leaves the target as it was. A target that
// holds user data is refused unless forced.
//
// Secrets: password and API key hashes are carried as stored; login
// sessions are not. Secrets sealed under the key outside the database
// (internal/secret) are carried sealed, and the manifest counts them per
// key ID; the key itself is never in a backup, and a restore reports the
// keys its target cannot open.
//
// It leaves out the feeds' artifact files in the data directory (they are
// downloaded again), and pg_dump-level objects that are not vulngate's
// tables.
package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/backup/archive"
	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/store"
)

// Manifest describes a backup (see package archive).
type Manifest = archive.Manifest

// Options tunes a backup.
type Options struct {
	// WithoutAdvisories leaves mirrored advisories and their indexes out;
	// the next mirror run fetches them again.
	WithoutAdvisories bool
	// Version is the vulngate version recorded in the manifest.
	Version string
	Logger  *slog.Logger
	Now     func() time.Time
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		o.Version = "dev"
	}
}

// Result describes a written backup.
type Result struct {
	Manifest *Manifest
	Path     string
	Size     int64
	Duration time.Duration
}

// WriteFile writes a backup of st to path. The file is written under a
// temporary name in the same directory, readable by its owner only, and
// renamed when complete.
func WriteFile(ctx context.Context, st *store.Store, path string, opts Options) (*Result, error) {
	opts.defaults()
	start := time.Now()
	dir := filepath.Dir(path)
	var b [6]byte
	rand.Read(b[:])
	tmp := filepath.Join(dir, "."+filepath.Base(path)+".partial-"+hex.EncodeToString(b[:]))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	m, err := Write(ctx, st, f, opts)
	if err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	ok = true
	return &Result{Manifest: m, Path: path, Size: fi.Size(), Duration: time.Since(start)}, nil
}

// Write writes a backup of st to w.
func Write(ctx context.Context, st *store.Store, w io.Writer, opts Options) (*Manifest, error) {
	opts.defaults()
	sn, err := st.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer sn.Close()
	migs, err := sn.Migrations(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if len(migs) == 0 {
		return nil, errors.New("backup: the database has no vulngate schema")
	}
	tables, err := sn.Tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	created := opts.Now().UTC().Truncate(time.Second)
	m := &Manifest{
		Format:          archive.Format,
		Created:         created,
		VulngateVersion: opts.Version,
		Engine:          string(sn.Dialect()),
		SchemaVersion:   migs[len(migs)-1],
		Migrations:      migs,
		Advisories:      !opts.WithoutAdvisories,
		Tables:          []archive.TableEntry{},
		LeftOut:         []archive.LeftOut{},
	}
	zw, err := archive.NewWriter(w, created)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	for _, t := range tables {
		tc, known := classify(t.Name)
		if !carried(tc.Class, m.Advisories) {
			why := tc.Why
			if tc.Class == Mirror {
				why = "mirrored data left out (--without-advisories): the next mirror run fetches it again"
			}
			m.LeftOut = append(m.LeftOut, archive.LeftOut{Name: t.Name, Class: tc.Class, Reason: why})
			continue
		}
		if !known {
			opts.Logger.Warn("table not classified by this vulngate: carried as user data", "table", t.Name)
		}
		e := archive.TableEntry{Name: t.Name, Class: tc.Class, Unclassified: !known}
		for _, c := range t.Columns {
			e.Columns = append(e.Columns, archive.ColumnEntry{Name: c.Name, Kind: archive.Kind(c.Kind)})
		}
		started := time.Now()
		tw, err := zw.Table(&e)
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		live := tc.Class == Mirror && store.LiveGenerations(t)
		write := tw.Write
		if tc.Class == User {
			write = func(vals []any) error {
				countSealed(m, vals)
				return tw.Write(vals)
			}
		}
		if err := sn.Rows(ctx, t, t.Columns, live, write); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		if err := tw.Close(); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		opts.Logger.Info("table saved", "table", t.Name, "rows", e.Rows, "duration", time.Since(started).Round(time.Millisecond).String())
		m.Tables = append(m.Tables, e)
	}
	sort.Slice(m.LeftOut, func(i, j int) bool { return m.LeftOut[i].Name < m.LeftOut[j].Name })
	m.Notes = notes(m)
	if err := zw.Close(m); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// countSealed counts the sealed secrets in a row's text values by key.
func countSealed(m *Manifest, vals []any) {
	for _, v := range vals {
		var text string
		switch x := v.(type) {
		case string:
			text = x
		case []byte:
			text = string(x)
		default:
			continue
		}
		for _, id := range secret.KeyIDs(text) {
			if m.Sealed == nil {
				m.Sealed = map[string]int64{}
			}
			m.Sealed[id]++
		}
	}
}

// notes are the manifest's sentences for people about what the backup
// holds and leaves out.
func notes(m *Manifest) []string {
	n := []string{
		"Password hashes (argon2id) and API key hashes are carried as stored; login sessions are not: everyone logs in again after a restore.",
	}
	if len(m.Sealed) > 0 {
		var total int64
		ids := make([]string, 0, len(m.Sealed))
		for id, c := range m.Sealed {
			total += c
			ids = append(ids, id)
		}
		sort.Strings(ids)
		n = append(n, fmt.Sprintf("%d stored secrets (such as the OSS Index token) are carried sealed with key %s, which is NOT in this file: it is %s in the data directory, or $%s. Keep a copy of it apart from the backups; without it those secrets must be entered again after a restore.",
			total, strings.Join(ids, ", "), secret.KeyFile, secret.EnvKey))
	}
	n = append(n, "Values the store keeps unsealed are carried as they are: keep this file as private as the database.")
	if m.Advisories {
		n = append(n, "Mirrored advisories are included as of the snapshot (imports in progress are left out).")
	} else {
		n = append(n, "Mirrored advisories are left out: after a restore the OSV mirror job (or `vulngate mirror`) fetches them again.")
	}
	n = append(n, "Cached upstream answers (OSS Index, feed metadata and artifacts) are left out and fetched again on demand.")
	return n
}
