// Package store implements vulngate's persistent state behind database/sql:
// mirrored advisories indexed by (ecosystem, normalized package name), the
// per-partition sync state the mirror needs for incremental refreshes, the
// package change journal, the browsing index, the enrichment data (NVD,
// EPSS, KEV), assessments and their history, recorded findings, projects
// with their versions, components, findings and portfolio snapshots,
// notification rules and their delivery log, users, grants, sessions and
// API keys, login rate limits, settings, job schedules, runs and leases,
// feeds with their decision audit, tracked packages and approvals, the OSS
// Index answer cache, and the schema migrations (embedded, applied with
// goose on open). The errors
// every layer shares (ErrNotFound, ErrConflict, ErrInUse, ErrInvalid) are
// in errors.go.
//
// Two engines sit behind the same type: SQLite (modernc.org/sqlite, pure
// Go) in WAL mode in the data directory, the default, and PostgreSQL (pgx)
// given a DSN, for several instances sharing one database. A process's
// writes to SQLite take turns before they meet its lock (writeturn.go).
// Queries are written once with "?" placeholders and rebound per dialect;
// migrations exist once per engine. The store knows nothing about OSV
// semantics: callers hand it records with their index keys already
// computed.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations
var migrations embed.FS

// Dialect names a database engine.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is the vulngate database.
type Store struct {
	db      *sql.DB
	dialect Dialect
	path    string
	counts  *countCache // totals of list queries (listcache.go)
	// the findings of unassessed lists (findinglist_unassessed.go)
	unassessed *listCache[unassessedList]
	stmts      stmtCache // prepared statements of hot reads (stmtcache.go)
	// cacheKiB is SQLite's page cache per connection (Options.PageCacheKiB).
	cacheKiB int
	bulk     bulkWriter // the connection imports write through (import_bulk.go)
	writes   writeTurn  // the turns of this process's writes (writeturn.go)
	keyUses  keyUses    // API keys' last_used writes of this process (users.go)
}

// Options selects and tunes the database.
type Options struct {
	// DataDir holds vulngate.db for the embedded SQLite engine.
	DataDir string
	// DSN, when set, selects PostgreSQL ("postgres://..." or
	// "postgresql://..." URL, or a key=value connection string).
	DSN string
	// PageCacheKiB is SQLite's page cache per connection, in KiB (0: 8 MiB).
	// A command that reads each page about once (a scan) loses nothing
	// with a small one: the operating system caches the file anyway, and
	// every cached page is memory the process holds until it exits.
	// PostgreSQL ignores it.
	PageCacheKiB int
	// MapBytes, when above 0, has SQLite read up to that many bytes of
	// the database file through a memory map (PRAGMA mmap_size) rather
	// than into its page cache. The page cache of modernc.org/sqlite's
	// build is one for all connections, behind one mutex taken for every
	// page read: under many concurrent requests the server spent ~6% of
	// its CPU there and waited on it besides. Mapped pages count in the
	// process's RSS (they are the operating system's file cache, shared
	// and reclaimable), and an I/O error reading one stops the process
	// instead of failing the query, so only the server maps.
	// PostgreSQL ignores it.
	MapBytes int64

	// noSchemaImage builds a new SQLite database by running the migrations
	// instead of writing the schema image (schema_image.go; its test).
	noSchemaImage bool
}

// PageSize is the page size of SQLite databases vulngate creates. Against
// SQLite's default of 4,096 bytes, 16,384 cut a corpus import's time by
// 14-20% and its file by 4% (fewer, fuller pages: fewer write and read
// calls for the write-ahead log and its checkpoints), where 8,192 gained
// half as much and 32,768 or 65,536 no more, with larger files. A
// database keeps the size it was created with.
const PageSize = 16384

// DBFile is the SQLite file name inside the data directory.
const DBFile = "vulngate.db"

// Open opens (creating if needed) the store and applies pending migrations.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.DSN != "" {
		return openPostgres(ctx, opts.DSN)
	}
	if opts.DataDir == "" {
		return nil, errors.New("store: no data directory")
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path := filepath.Join(opts.DataDir, DBFile)
	// A new database: the schema image, or (noSchemaImage) an empty file
	// with a new database's settings that the migrations then fill.
	var err error
	if opts.noSchemaImage {
		err = createEmpty(path)
	} else {
		_, err = newFromImage(path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if err := ownerOnly(opts.DataDir, path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	cache := opts.PageCacheKiB
	if cache <= 0 {
		cache = defaultCacheKiB
	}
	// Imports raise the page cache of their writer connection (import_bulk.go).
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=cache_size(-" + strconv.Itoa(cache) + ")&_pragma=temp_store(MEMORY)&_txlock=immediate"
	if opts.MapBytes > 0 {
		dsn += "&_pragma=mmap_size(" + strconv.FormatInt(opts.MapBytes, 10) + ")"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db, dialect: SQLite, path: path, counts: newCountCache(), unassessed: newUnassessedCache(), cacheKiB: cache, writes: newWriteTurn(SQLite)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// ownerOnly makes the data directory (0700) and the database files (0600)
// the owner's alone. The database file is created before SQLite opens it,
// so that SQLite, which gives its -wal and -shm files the database file's
// mode, creates those 0600 too; files of older versions (0644) are
// tightened. A directory the process cannot chmod (not its owner) is left
// as it is; the files in it are still 0600.
func ownerOnly(dir, db string) error {
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		os.Chmod(dir, 0o700)
	}
	f, err := os.OpenFile(db, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{db, db + "-wal", db + "-shm", db + "-journal"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("%s is readable by others and cannot be restricted: %w", p, err)
			}
		}
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(s.dialect))
	if err != nil {
		return err
	}
	if !s.migrated(ctx, sub) {
		if err := s.gooseUp(ctx, sub); err != nil {
			return err
		}
	}
	if err := s.fillProjectFindingIDs(ctx); err != nil {
		return fmt.Errorf("store: %s: project finding IDs: %w", s.path, err)
	}
	return nil
}

// gooseUp applies the migrations of sub the database lacks.
func (s *Store) gooseUp(ctx context.Context, sub fs.FS) error {
	gd := goose.DialectSQLite3
	// Migrations are numbered in ranges per area of work (00110..,
	// 00130.., 00160..), so a database migrated by an earlier build may
	// lack a lower-numbered migration added later: it is applied too (the
	// ranges do not depend on each other).
	opts := []goose.ProviderOption{goose.WithAllowOutofOrder(true)}
	if s.dialect == Postgres {
		gd = goose.DialectPostgres
		// Instances starting together on one database take turns.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, s.db, sub, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.path, err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.stmts.close()
	return s.db.Close()
}

// DB exposes the handle for packages that own their own tables.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect reports the engine in use.
func (s *Store) Dialect() Dialect { return s.dialect }

// Rebind rewrites "?" placeholders for the store's dialect.
func (s *Store) Rebind(q string) string { return rebind(s.dialect, q) }

func rebind(d Dialect, q string) string {
	if d == SQLite {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// tx runs fn in a transaction, committing when fn returns nil, in the
// write's turn (writeturn.go).
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	defer s.writes.take(ctx)()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	err = tx.Commit()
	s.listsChanged()
	return err
}

// exec runs one statement that writes, in the write's turn
// (writeturn.go); not for a caller that holds the turn.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer s.writes.take(ctx)()
	return s.db.ExecContext(ctx, query, args...)
}

// createEmpty creates the SQLite database at path when there is none
// (noDatabase) with the settings that take effect only before its first
// page is written: PageSize, incremental auto-vacuum (space.go) and the
// write-ahead log. A new data directory's database is written from the
// schema image instead, which has them; this is the way of a database
// built by running the migrations, and of a restore's scratch
// (scratch.go). The settings are not in the DSN every connection runs: the
// driver runs its pragmas in alphabetical order (journal_mode before
// page_size), and auto_vacuum on an existing database is no use and not
// free (each connection setting it wrote the header in a transaction of
// its own: three fsyncs, and a checkpoint when the store closed, in every
// command).
func createEmpty(path string) error {
	if !noDatabase(path) {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(`PRAGMA page_size = ` + strconv.Itoa(PageSize) + `; PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL`)
	return err
}
