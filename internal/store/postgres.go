package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// openPostgres opens a PostgreSQL store and applies migrations. Several
// vulngate instances may share one database; migrations are serialized by
// goose's own locking of its version table.
func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open PostgreSQL %s: %w", redactDSN(dsn), err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL %s: %w", redactDSN(dsn), err)
	}
	s := &Store{db: db, dialect: Postgres, path: redactDSN(dsn), counts: newCountCache(), unassessed: newUnassessedCache()}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// IsUnavailable reports whether err says the database cannot be reached
// right now (connection refused or lost, the server shutting down or
// starting up) rather than that a query or its data was wrong. Callers
// answer such errors with "try again later" (HTTP 503); database/sql
// reconnects by itself once the server is back.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: admin shutdown,
		// crash shutdown, cannot connect now.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "connection refused")
}

// Location names the database for messages: the SQLite file, or the
// PostgreSQL DSN with its password redacted.
func (s *Store) Location() string { return s.path }

// redactDSN removes a password from a DSN for messages.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	var parts []string
	for _, f := range strings.Fields(dsn) {
		if strings.HasPrefix(strings.ToLower(f), "password=") {
			f = "password=xxxxx"
		}
		parts = append(parts, f)
	}
	return strings.Join(parts, " ")
}

// analyzeGrown refreshes PostgreSQL's statistics of tables after added
// rows were written to table, when they are 1/per or more of the rows its
// statistics know of (per 10: a tenth; per 1: as many; always on a
// never-analyzed table): without statistics the planner takes small tables
// for empty and picks plans that are quadratic once they are not. ANALYZE
// samples, so it costs little, but not so little that every write should
// pay it. target is the statistics target of its sample (0: the
// server's).
func (s *Store) analyzeGrown(ctx context.Context, table string, added int64, per int, tables string, target int) error {
	var known float64
	if err := s.db.QueryRowContext(ctx, `SELECT reltuples FROM pg_class WHERE oid = '`+table+`'::regclass`).Scan(&known); err != nil || float64(per)*float64(added) >= known {
		return s.analyze(ctx, tables, target)
	}
	return nil
}

// analyze runs ANALYZE of tables (PostgreSQL) with the statistics target
// (0: the server's), in a transaction that does not wait for its commit
// to be flushed: statistics are not data, and a lost ANALYZE is run again
// by the next one or by autovacuum. Its own flush had been most of the
// ~3 ms an ANALYZE of a small table took.
func (s *Store) analyze(ctx context.Context, tables string, target int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	set := `SET LOCAL synchronous_commit = off`
	if target > 0 {
		set += `; SET LOCAL default_statistics_target = ` + strconv.Itoa(target)
	}
	if _, err := tx.ExecContext(ctx, set); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `ANALYZE `+tables); err != nil {
		return err
	}
	return tx.Commit()
}

// importStatisticsTarget is the statistics target of the ANALYZE an import
// runs when it at least doubled the advisory tables (the sample is 300
// times as many rows): what the planner needs then is the tables' sizes
// and the rough shape of their keys, and autovacuum's own ANALYZE, at the
// server's target, follows once a tenth of a table changed. With the
// corpus imported (36,565 advisories, 34 MB), ANALYZE of advisory,
// advisory_package and advisory_alias took 289 + 95 + 39 ms at the
// default target of 100 (a sample of every row), 78 + 26 + 9 ms at 10;
// the three analyses of a corpus import had spent 387-589 ms of the
// server's statement time, 91-196 ms at 10. The findings' analyses keep
// the server's target (their tables grow by a tenth, and their lists
// filter on more columns).
const importStatisticsTarget = 10
