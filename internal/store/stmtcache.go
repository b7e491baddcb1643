package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the prepared statements of the read paths every request
// takes (the caller's API key or session, user and grants; list pages and
// their totals; the assessments of a page), keyed by their text. Asked
// unprepared, SQLite parses and plans a statement on every query, which
// was an eighth of a busy server's CPU. database/sql prepares a cached
// statement again on each pooled connection as it is used there. Bounded:
// past stmtCacheMax texts, queries run unprepared.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	closed bool
}

const stmtCacheMax = 256

// prepared returns the cached statement of q, preparing it on first use,
// or nil when it cannot be cached (the cache is full or closed, or the
// prepare failed: the unprepared query then reports the error).
func (s *Store) prepared(ctx context.Context, q string) *sql.Stmt {
	c := &s.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[q]; ok {
		return st
	}
	if c.closed || len(c.m) >= stmtCacheMax {
		return nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[q] = st
	return st
}

// queryCached is QueryContext through a cached prepared statement.
func (s *Store) queryCached(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := s.prepared(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, q, args...)
}

// cachedQuerier is a querier (queryAll's) whose queries go through the
// store's cached prepared statements.
type cachedQuerier struct{ s *Store }

func (c cachedQuerier) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.s.queryCached(ctx, q, args...)
}

// queryRowCached is QueryRowContext through a cached prepared statement.
func (s *Store) queryRowCached(ctx context.Context, q string, args ...any) *sql.Row {
	if st := s.prepared(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, q, args...)
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m, c.closed = nil, true
}
