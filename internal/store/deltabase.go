package store

import (
	"context"
	"database/sql"
)

// DeltaBase is what an incremental sync reads of its partition before the
// delta's transaction, while the delta's records download: the stored
// rows of the IDs it may replace or delete. On SQLite they are read on a
// connection kept for the transaction (whose page cache then holds their
// pages); ApplyDelta uses them when no other connection has written to
// the database since (SQLite's PRAGMA data_version), and reads them again
// otherwise: the transaction sees the same rows either way. On PostgreSQL
// the delta's transaction always reads them again; the base only tells
// which IDs were stored (Holds).
type DeltaBase struct {
	conn    *sql.Conn // nil on PostgreSQL
	version int64     // data_version before the rows were read
	part    string
	gen     int64
	asked   map[string]bool
	rows    map[string]storedRow
}

// ReadDeltaBase reads the stored rows of ids in generation gen of part for
// a delta to come (pass it in Delta.Base).
func (s *Store) ReadDeltaBase(ctx context.Context, part string, gen int64, ids []string) (*DeltaBase, error) {
	b := &DeltaBase{part: part, gen: gen, asked: make(map[string]bool, len(ids))}
	if s.dialect != SQLite {
		var err error
		if b.rows, err = storedRows(ctx, s, s.db, part, gen, ids, nil); err != nil {
			return nil, err
		}
		return b, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	b.conn = conn
	if err := conn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&b.version); err != nil {
		b.Close()
		return nil, err
	}
	if b.rows, err = storedRows(ctx, s, conn, part, gen, ids, nil); err != nil {
		b.Close()
		return nil, err
	}
	for _, id := range ids {
		b.asked[id] = true
	}
	return b, nil
}

// Holds tells whether the generation held id when the base was read (id
// must be one of those asked for); a nil base holds nothing.
func (b *DeltaBase) Holds(id string) bool {
	if b == nil {
		return false
	}
	_, ok := b.rows[id]
	return ok
}

// Close gives the connection back; ApplyDelta closes the base it is given.
func (b *DeltaBase) Close() {
	if b != nil && b.conn != nil {
		b.conn.Close()
		b.conn = nil
	}
}

// current is the base's rows when tx (on the base's connection) sees the
// database as the base read it, else nil.
func (b *DeltaBase) current(ctx context.Context, tx *sql.Tx, part string, gen int64) (*DeltaBase, error) {
	if b == nil || b.conn == nil || b.part != part || b.gen != gen {
		return nil, nil
	}
	var v int64
	if err := tx.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return nil, err
	}
	if v != b.version {
		return nil, nil
	}
	return b, nil
}
