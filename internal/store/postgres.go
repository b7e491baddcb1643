package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

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
	s := &Store{db: db, dialect: Postgres, path: redactDSN(dsn)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
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
