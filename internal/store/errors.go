package store

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The errors every layer above the database shares: the store, the
// services built on it (assess, feeds, auth) and the server, which maps
// them to HTTP statuses in one place. Wrap them with fmt.Errorf("...: %w")
// to name the row; test with errors.Is.
var (
	// ErrNotFound: the named row (user, key, session, run, feed,
	// assessment type, assessment...) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique name is already taken.
	ErrConflict = errors.New("already exists")
	// ErrInUse: the row cannot be deleted while others refer to it.
	ErrInUse = errors.New("in use")
	// ErrInvalid: the caller's input is wrong (see Invalid).
	ErrInvalid = errors.New("invalid input")
)

// Invalid marks err as caused by the caller's input (errors.Is(e,
// ErrInvalid) holds); its text stays err's, so it can be shown as is.
func Invalid(err error) error {
	if err == nil {
		return nil
	}
	return invalidError{err}
}

type invalidError struct{ err error }

func (e invalidError) Error() string        { return e.err.Error() }
func (e invalidError) Unwrap() error        { return e.err }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

// isUniqueViolation reports whether err is a unique (or primary key)
// constraint violation, by error code: SQLSTATE 23505 on PostgreSQL,
// SQLITE_CONSTRAINT_UNIQUE or _PRIMARYKEY on SQLite.
func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
