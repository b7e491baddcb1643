package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/vulngate/vulngate/internal/backup/archive"
	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/store"
)

// RestoreOptions tunes a restore.
type RestoreOptions struct {
	// Force replaces a target that holds user data (a SQLite target's old
	// file is kept beside the new one).
	Force  bool
	Logger *slog.Logger
	// KeyDir is the data directory whose secret key the restored store
	// will be used with (internal/secret: $VULNGATE_SECRET_KEY, else its
	// key file); "" is the SQLite target's data directory.
	KeyDir string
}

// RestoreResult describes a finished restore.
type RestoreResult struct {
	Manifest *Manifest
	Target   string
	// Kept is the SQLite target's previous file, moved aside ("" when
	// there was none).
	Kept string
	Rows int64
	// Migrations newer than the backup, applied after loading its rows.
	Migrated []int64
	Duration time.Duration
	// MissingKeys are the keys that sealed secrets of the backup and that
	// the target's keyring lacks (those secrets will not open there);
	// KeyOrigin says where that keyring was looked for.
	MissingKeys []string
	KeyOrigin   string
}

// ErrNewerSchema is returned for a backup made by a newer vulngate.
var ErrNewerSchema = errors.New("the backup was made by a newer vulngate")

// checkSchema returns the migrations of this binary newer than the
// backup's, or an error when the backup has migrations it does not know.
func checkSchema(m *Manifest, d store.Dialect) ([]int64, error) {
	known, err := store.Migrations(d)
	if err != nil {
		return nil, err
	}
	for _, v := range m.Migrations {
		if !slices.Contains(known, v) {
			return nil, fmt.Errorf("%w: its schema has migration %d, which this vulngate (schema version %d) does not know; restore it with that version or newer", ErrNewerSchema, v, known[len(known)-1])
		}
	}
	var newer []int64
	for _, v := range known {
		if !slices.Contains(m.Migrations, v) {
			newer = append(newer, v)
		}
	}
	return newer, nil
}

// userTables lists the tables of ts that hold user data, other than those
// a fresh database fills itself: a restore target must have none of their
// rows unless forced.
func userTables(ts []store.Table) []string {
	out := []string{}
	for _, t := range ts {
		if c, _ := classify(t.Name); c.Class == User && !c.Seeded {
			out = append(out, t.Name)
		}
	}
	return out
}

// Restore restores the backup file into the database target names.
func Restore(ctx context.Context, file string, target store.Options, opts RestoreOptions) (*RestoreResult, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	r, err := archive.Open(file)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	m := r.Manifest
	d := store.SQLite
	if target.DSN != "" {
		d = store.Postgres
	}
	newer, err := checkSchema(m, d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	res := &RestoreResult{Manifest: m, Target: store.TargetName(target), Migrated: newer}

	// Refuse a target with user data before building anything (Install
	// checks again as it swaps).
	var mustBeEmpty []string
	if !opts.Force {
		if err := precheck(ctx, target); err != nil {
			return nil, err
		}
	}

	opts.Logger.Info("restoring", "file", file, "created", m.Created, "engine", m.Engine, "schema_version", m.SchemaVersion, "target", res.Target)
	sc, err := store.NewScratch(ctx, target, m.SchemaVersion)
	if err != nil {
		return nil, err
	}
	defer sc.Discard()
	tables, err := sc.Tables(ctx)
	if err != nil {
		return nil, err
	}
	if !opts.Force {
		mustBeEmpty = userTables(tables)
	}
	if err := load(ctx, r, sc, tables, opts.Logger, &res.Rows); err != nil {
		return nil, err
	}
	if err := sc.Finish(ctx); err != nil {
		return nil, fmt.Errorf("restore: applying the newer migrations: %w", err)
	}
	if res.Kept, err = sc.Install(ctx, mustBeEmpty); err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	opts.Logger.Info("restored", "rows", res.Rows, "duration", res.Duration.Round(time.Millisecond).String())
	keyDir := opts.KeyDir
	if keyDir == "" {
		keyDir = target.DataDir
	}
	res.MissingKeys, res.KeyOrigin = missingKeys(m, keyDir)
	return res, nil
}

// missingKeys lists the keys of the backup's sealed secrets that the
// keyring of keyDir ($VULNGATE_SECRET_KEY, else its key file) lacks.
func missingKeys(m *Manifest, keyDir string) ([]string, string) {
	if len(m.Sealed) == 0 {
		return nil, ""
	}
	origin := filepath.Join(keyDir, secret.KeyFile)
	k, ok, err := secret.LoadIfPresent(keyDir)
	if err == nil && ok {
		origin = k.Origin
	}
	var out []string
	for id := range m.Sealed {
		if k == nil || !k.Has(id) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out, origin
}

// precheck refuses a target holding user data.
func precheck(ctx context.Context, target store.Options) error {
	sn, ok, err := store.InspectTarget(ctx, target)
	if err != nil || !ok {
		return err
	}
	defer sn.Close()
	ts, err := sn.Tables(ctx)
	if err != nil {
		return err
	}
	held := map[string]int64{}
	for _, t := range userTables(ts) {
		n, err := sn.Count(ctx, t)
		if err != nil {
			return err
		}
		if n > 0 {
			held[t] = n
		}
	}
	if len(held) > 0 {
		return &store.NotEmptyError{Target: store.TargetName(target), Rows: held}
	}
	return nil
}

// load loads every table of the backup into the scratch, parents first.
func load(ctx context.Context, r *archive.Reader, sc *store.Scratch, tables []store.Table, log *slog.Logger, rows *int64) error {
	have := map[string]bool{}
	for _, t := range tables {
		have[t.Name] = true
	}
	for _, e := range r.Manifest.Tables {
		if !have[e.Name] {
			return fmt.Errorf("%s: table %s is not part of vulngate's schema version %d", r.Name(), e.Name, r.Manifest.SchemaVersion)
		}
	}
	for _, t := range tables {
		e, ok := r.Manifest.Table(t.Name)
		if !ok {
			continue
		}
		started := time.Now()
		n, err := loadTable(ctx, r, sc, t, e)
		if err != nil {
			return err
		}
		*rows += n
		log.Info("table restored", "table", t.Name, "rows", n, "duration", time.Since(started).Round(time.Millisecond).String())
	}
	return nil
}

func loadTable(ctx context.Context, r *archive.Reader, sc *store.Scratch, t store.Table, e *archive.TableEntry) (int64, error) {
	cols := make([]store.Column, len(e.Columns))
	for i, c := range e.Columns {
		dc, ok := t.Column(c.Name)
		if !ok {
			return 0, fmt.Errorf("%s: table %s: column %s is not part of vulngate's schema version %d", r.Name(), e.Name, c.Name, r.Manifest.SchemaVersion)
		}
		cols[i] = dc
	}
	rr, err := r.Rows(e)
	if err != nil {
		return 0, err
	}
	defer rr.Close()
	out := make([]any, len(cols))
	next := func() ([]any, error) {
		vals, err := rr.Next()
		if err != nil {
			return nil, err // io.EOF after the checks pass
		}
		for i, c := range cols {
			v, err := archive.Convert(archive.Kind(c.Kind), vals[i])
			if err != nil {
				return nil, fmt.Errorf("%s: table %s, row %d, column %s: %w", r.Name(), e.Name, rr.Row(), c.Name, err)
			}
			out[i] = v
		}
		return out, nil
	}
	return sc.Load(ctx, t, cols, next)
}

// Verify reads a whole backup file and checks every table against its
// manifest and this binary's schema, writing nothing.
func Verify(ctx context.Context, file string) (*Manifest, error) {
	r, err := archive.Open(file)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if _, err := checkSchema(r.Manifest, store.Dialect(r.Manifest.Engine)); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	for i := range r.Manifest.Tables {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := drain(r, &r.Manifest.Tables[i]); err != nil {
			return nil, err
		}
	}
	return r.Manifest, nil
}

func drain(r *archive.Reader, e *archive.TableEntry) error {
	rr, err := r.Rows(e)
	if err != nil {
		return err
	}
	defer rr.Close()
	for {
		if _, err := rr.Next(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}
