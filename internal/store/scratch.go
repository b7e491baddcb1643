package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Scratch is the database a restore builds before it replaces its target,
// so that a failed restore (a corrupt backup, a constraint violation)
// leaves the target as it was: on SQLite a file beside the target's
// vulngate.db, swapped in by renaming; on PostgreSQL a schema of its own
// in the target database, copied into the target's tables in one
// transaction and then dropped.
//
// The scratch is first migrated to the backup's schema version, loaded,
// then migrated to this binary's latest version (Finish), so that newer
// migrations transform older data as they would in place.
type Scratch struct {
	dialect Dialect
	target  Options
	db      *sql.DB
	path    string // SQLite scratch file
	schema  string // PostgreSQL scratch schema
	into    string // PostgreSQL target schema
}

// NotEmptyError is returned when a restore target holds data and the
// restore was not forced.
type NotEmptyError struct {
	Target string
	Rows   map[string]int64 // table -> rows
}

func (e *NotEmptyError) Error() string {
	var parts []string
	for t, n := range e.Rows {
		parts = append(parts, fmt.Sprintf("%s: %d rows", t, n))
	}
	sort.Strings(parts)
	return fmt.Sprintf("%s is not empty (%s)", e.Target, strings.Join(parts, ", "))
}

// TargetName names a restore target for messages (password redacted).
func TargetName(opts Options) string {
	if opts.DSN != "" {
		return "PostgreSQL database " + redactDSN(opts.DSN)
	}
	return filepath.Join(opts.DataDir, DBFile)
}

// Is reports whether opts names the store's own database.
func (s *Store) Is(opts Options) bool {
	if opts.DSN != "" {
		return s.dialect == Postgres && s.path == redactDSN(opts.DSN)
	}
	if s.dialect != SQLite {
		return false
	}
	a, err1 := filepath.Abs(s.path)
	b, err2 := filepath.Abs(filepath.Join(opts.DataDir, DBFile))
	return err1 == nil && err2 == nil && a == b
}

// NewScratch creates an empty scratch database for target, migrated up
// to version.
func NewScratch(ctx context.Context, target Options, version int64) (*Scratch, error) {
	var b [6]byte
	rand.Read(b[:])
	// The name carries the process ID, so that the scratch of a restore
	// that was killed can be told from one in progress and removed.
	suffix := fmt.Sprintf("%d_%s", os.Getpid(), hex.EncodeToString(b[:]))
	var sc *Scratch
	var err error
	if target.DSN != "" {
		sc, err = newPGScratch(ctx, target, scratchPrefix+suffix)
	} else {
		sc, err = newSQLiteScratch(target, suffix)
	}
	if err != nil {
		return nil, err
	}
	if err := migrateTo(ctx, sc.db, sc.dialect, version); err != nil {
		sc.Discard()
		return nil, err
	}
	return sc, nil
}

func newSQLiteScratch(target Options, suffix string) (*Scratch, error) {
	if target.DataDir == "" {
		return nil, errors.New("store: no data directory")
	}
	if err := os.MkdirAll(target.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	removeDeadScratches(target.DataDir)
	path := filepath.Join(target.DataDir, DBFile+".restore-"+suffix)
	// The restored database gets a new one's page size and auto-vacuum.
	if err := createEmpty(path); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	// No journal and no syncs while loading: a scratch that fails is
	// deleted; the finished file is synced before it is renamed. Foreign
	// keys are checked once after loading (Finish).
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return &Scratch{dialect: SQLite, target: target, db: db, path: path}, nil
}

// scratchPrefix starts the names of PostgreSQL scratch schemas.
const scratchPrefix = "vulngate_restore_"

// removeDeadScratches deletes the scratch files of restores whose process
// no longer runs (killed, or the machine stopped).
func removeDeadScratches(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, DBFile+".restore-*"))
	for _, f := range files {
		rest := strings.TrimPrefix(filepath.Base(f), DBFile+".restore-")
		pid, err := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, '_'))])
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		os.Remove(f)
	}
}

// Dialect is the scratch's engine.
func (sc *Scratch) Dialect() Dialect { return sc.dialect }

// Tables describes the scratch's tables, each after those it references.
func (sc *Scratch) Tables(ctx context.Context) ([]Table, error) {
	return listTables(ctx, sc.db, sc.dialect)
}

// Load replaces the rows of t (as Tables describes it) with the rows next
// returns for columns cols, until next returns io.EOF. Values are int64,
// float64, bool, string, []byte or nil, as the columns' kinds want. It
// returns how many rows it wrote.
func (sc *Scratch) Load(ctx context.Context, t Table, cols []Column, next func() ([]any, error)) (int64, error) {
	var n int64
	var err error
	if sc.dialect == Postgres {
		n, err = sc.loadPG(ctx, t, cols, next)
	} else {
		n, err = sc.loadSQLite(ctx, t, cols, next)
	}
	if err != nil {
		return n, fmt.Errorf("restoring table %s: %w", t.Name, err)
	}
	return n, nil
}

// sqliteMaxVars bounds the bound parameters of one statement.
const sqliteMaxVars = 30000

// maxBatchBytes bounds the values one insert statement carries.
const maxBatchBytes = 16 << 20

func (sc *Scratch) loadSQLite(ctx context.Context, t Table, cols []Column, next func() ([]any, error)) (int64, error) {
	tx, err := sc.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+quoteIdent(t.Name)); err != nil {
		return 0, err
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteIdent(c.Name)
	}
	per := max(1, min(500, sqliteMaxVars/max(1, len(cols))))
	head := `INSERT INTO ` + quoteIdent(t.Name) + ` (` + strings.Join(names, ", ") + `) VALUES `
	one := `(` + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + `)`
	full, err := tx.PrepareContext(ctx, head+strings.TrimSuffix(strings.Repeat(one+", ", per), ", "))
	if err != nil {
		return 0, err
	}
	defer full.Close()
	var n int64
	args := make([]any, 0, per*len(cols))
	flush := func(rows int) error {
		if rows == 0 {
			return nil
		}
		var err error
		if rows == per {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, head+strings.TrimSuffix(strings.Repeat(one+", ", rows), ", "), args...)
		}
		args = args[:0]
		return err
	}
	rows, bytes := 0, 0
	for {
		vals, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, err
		}
		for _, v := range vals {
			switch x := v.(type) {
			case string:
				bytes += len(x)
			case []byte:
				bytes += len(x)
			}
		}
		args = append(args, vals...)
		rows++
		n++
		// Full statements, or fewer rows when they are large (advisory
		// documents), so that a batch holds a bounded amount of memory.
		if rows == per || bytes >= maxBatchBytes {
			if err := flush(rows); err != nil {
				return n, err
			}
			rows, bytes = 0, 0
		}
	}
	if err := flush(rows); err != nil {
		return n, err
	}
	return n, tx.Commit()
}

// Finish checks the loaded data's foreign keys, then applies the newer
// migrations.
func (sc *Scratch) Finish(ctx context.Context) error {
	if sc.dialect == Postgres {
		if err := resetSequences(ctx, sc.db); err != nil {
			return err
		}
	} else if err := sqliteForeignKeyCheck(ctx, sc.db); err != nil {
		return err
	}
	return migrateTo(ctx, sc.db, sc.dialect, 0)
}

func sqliteForeignKeyCheck(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int64
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return err
		}
		if len(bad) < 5 {
			bad = append(bad, fmt.Sprintf("a row of %s refers to a missing row of %s", table, parent))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("the restored data breaks foreign keys: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Install replaces the target's contents with the scratch's. When
// mustBeEmpty is not nil, it first checks, as part of the swap, that
// those tables of the target hold no rows (else *NotEmptyError and the
// target is left alone). On SQLite a target file that existed is kept
// beside the new one and its path returned.
func (sc *Scratch) Install(ctx context.Context, mustBeEmpty []string) (kept string, err error) {
	if sc.dialect == Postgres {
		return "", sc.installPG(ctx, mustBeEmpty)
	}
	return sc.installSQLite(ctx, mustBeEmpty)
}

// countRows counts the rows of those tables that exist.
func countRows(ctx context.Context, q queryer, d Dialect, tables []string) (map[string]int64, error) {
	have, err := listTables(ctx, q, d)
	if err != nil {
		return nil, err
	}
	exists := map[string]bool{}
	for _, t := range have {
		exists[t.Name] = true
	}
	out := map[string]int64{}
	for _, t := range tables {
		if !exists[t] {
			continue
		}
		var n int64
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(t)).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			out[t] = n
		}
	}
	return out, nil
}

func (sc *Scratch) installSQLite(ctx context.Context, mustBeEmpty []string) (string, error) {
	// One file: no journal left beside it.
	if _, err := sc.db.ExecContext(ctx, `PRAGMA journal_mode=DELETE`); err != nil {
		return "", err
	}
	if err := sc.db.Close(); err != nil {
		return "", err
	}
	if err := syncFile(sc.path); err != nil {
		return "", err
	}
	path := filepath.Join(sc.target.DataDir, DBFile)
	kept := ""
	if _, err := os.Stat(path); err == nil {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
		if err != nil {
			return "", err
		}
		held, err := func() (map[string]int64, error) {
			defer db.Close()
			held, err := countRows(ctx, db, SQLite, mustBeEmpty)
			if err != nil {
				return nil, err
			}
			// Everything in the WAL goes into the file, which must not be
			// in use: a running server would keep writing to the old file.
			var busy, logPages, done int64
			if err := db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &done); err != nil {
				return nil, err
			}
			if busy != 0 {
				return nil, fmt.Errorf("%s is in use (is a vulngate server running on it? stop it first)", path)
			}
			return held, nil
		}()
		if err != nil {
			return "", err
		}
		if mustBeEmpty != nil && len(held) > 0 {
			return "", &NotEmptyError{Target: path, Rows: held}
		}
		// Kept whatever it holds (mirrored data, caches): it costs a rename.
		kept = path + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(path, kept); err != nil {
			return "", err
		}
		for _, ext := range []string{"-wal", "-shm"} {
			if err := os.Remove(path + ext); err != nil && !errors.Is(err, os.ErrNotExist) {
				return kept, err
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.Rename(sc.path, path); err != nil {
		return kept, err
	}
	sc.path = ""
	return kept, syncFile(sc.target.DataDir)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Discard drops the scratch (after a failure, or an Install that
// succeeded: then nothing is left to drop).
func (sc *Scratch) Discard() {
	if sc.dialect == Postgres {
		sc.discardPG()
		return
	}
	sc.db.Close()
	if sc.path != "" {
		for _, ext := range []string{"", "-journal", "-wal", "-shm"} {
			os.Remove(sc.path + ext)
		}
	}
}
