package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// The scan's lookups: advisories by package name (AdvisoriesForNames) and
// by ID or alias (AdvisoriesByIDs), for thousands of names or IDs at a
// time.
//
// On SQLite each lookup reads inside one read transaction (a snapshot:
// an import flipping a generation meanwhile is not half seen) and asks
// only the live partitions whose key range can hold the key: a partition
// is one ecosystem (or a few) and one or a few ID prefixes, and asking
// every partition for every key was most of a large scan's time in the
// engine (19 partitions: 19 index seeks per name, per ID). The ranges come
// from the first and last keys of the partition's indexes (two seeks
// each), in SQLite's BINARY collation, which Go's string order is.
// PostgreSQL compares text in the database's collation, so it is asked
// across partitions in one statement, as before.

// lookupChunk is how many names one lookup statement asks for; a full
// chunk's statement is prepared once per call.
const lookupChunk = 256

// idChunk is how many IDs one statement of AdvisoriesByIDs asks for.
const idChunk = 400

// livePart is a live partition with the ranges of its record IDs and
// package ecosystems (empty when it has none).
type livePart struct {
	name, source   string
	gen            int64
	records        int // as partition_state counts them: an estimate
	minID, maxID   string
	minEco, maxEco string
}

func (p livePart) mayHoldEcosystem(eco string) bool {
	return p.minEco != "" && eco >= p.minEco && eco <= p.maxEco
}

func liveParts(ctx context.Context, q queryer) ([]livePart, error) {
	rows, err := q.QueryContext(ctx, `
SELECT p.name, p.source, p.generation, p.records,
 coalesce((SELECT min(id) FROM advisory WHERE part = p.name AND generation = p.generation), ''),
 coalesce((SELECT max(id) FROM advisory WHERE part = p.name AND generation = p.generation), ''),
 coalesce((SELECT min(ecosystem) FROM advisory_package WHERE part = p.name AND generation = p.generation), ''),
 coalesce((SELECT max(ecosystem) FROM advisory_package WHERE part = p.name AND generation = p.generation), '')
FROM partition_state p ORDER BY p.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []livePart
	for rows.Next() {
		var p livePart
		if err := rows.Scan(&p.name, &p.source, &p.gen, &p.records, &p.minID, &p.maxID, &p.minEco, &p.maxEco); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// readSnapshot starts a read-only transaction on SQLite (a consistent
// view for the statements of one lookup).
func (s *Store) readSnapshot(ctx context.Context) (*sql.Tx, error) {
	return s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}

func inList(n int) string { return "?" + strings.Repeat(", ?", n-1) }

// AdvisoriesFor returns the live, non-withdrawn advisories that index the
// package (base ecosystem, normalized name), one per ID across partitions.
func (s *Store) AdvisoriesFor(ctx context.Context, ecosystem, name string) ([]Advisory, error) {
	m, err := s.AdvisoriesForNames(ctx, ecosystem, []string{name})
	return m[name], err
}

// AdvisoriesForNames returns, for each of names (normalized package names
// of one base ecosystem), the live, non-withdrawn advisories that index it,
// one per ID across partitions. Names without advisories are absent from
// the map. It asks with a few IN-list statements rather than one per
// name, and inflates each record once: advisories of several names share
// their Data, which callers must not modify.
func (s *Store) AdvisoriesForNames(ctx context.Context, ecosystem string, names []string) (map[string][]Advisory, error) {
	return s.forNames(ctx, ecosystem, names, true)
}

// AdvisoriesForNamesDeflated is AdvisoriesForNames with each record's
// Data as stored, DEFLATE-compressed (see Inflate): a scan inflates them
// on its parsing workers, while the next names are read, rather than in
// the one goroutine reading the rows.
func (s *Store) AdvisoriesForNamesDeflated(ctx context.Context, ecosystem string, names []string) (map[string][]Advisory, error) {
	return s.forNames(ctx, ecosystem, names, false)
}

func (s *Store) forNames(ctx context.Context, ecosystem string, names []string, inflate bool) (map[string][]Advisory, error) {
	out := map[string][]Advisory{}
	names = uniqueSorted(names)
	if len(names) == 0 {
		return out, nil
	}
	c := collector{out: out, docs: map[string][]byte{}, inflate: inflate}
	var err error
	if s.dialect == SQLite {
		err = s.forNamesSQLite(ctx, ecosystem, names, &c)
	} else {
		err = s.forNamesAcross(ctx, ecosystem, names, &c)
	}
	if err != nil {
		return nil, err
	}
	for _, list := range out {
		slices.SortFunc(list, func(a, b Advisory) int { return strings.Compare(a.ID, b.ID) })
	}
	return out, nil
}

// forNamesSQLite asks each live partition that may index the ecosystem.
func (s *Store) forNamesSQLite(ctx context.Context, ecosystem string, names []string, c *collector) error {
	tx, err := s.readSnapshot(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	parts, err := liveParts(ctx, tx)
	if err != nil {
		return err
	}
	stmts := chunkStmts{db: tx}
	defer stmts.close()
	for _, p := range parts {
		if !p.mayHoldEcosystem(ecosystem) {
			continue
		}
		for rest := names; len(rest) > 0; {
			n := min(lookupChunk, len(rest))
			args := make([]any, 0, n+4)
			args = append(args, p.source, p.name, p.gen, ecosystem)
			for _, name := range rest[:n] {
				args = append(args, name)
			}
			rows, err := stmts.query(ctx, n, `
SELECT k.name, k.part, ?, a.id, a.modified, a.data
FROM advisory_package k
JOIN advisory a ON a.part = k.part AND a.generation = k.generation AND a.id = k.id
WHERE k.part = ? AND k.generation = ? AND k.ecosystem = ? AND k.name IN (`+inList(n)+`) AND a.withdrawn = 0`, args)
			if err != nil {
				return err
			}
			if err := c.add(rows); err != nil {
				return err
			}
			rest = rest[n:]
		}
	}
	return tx.Commit()
}

// forNamesAcross asks all live partitions in each statement.
func (s *Store) forNamesAcross(ctx context.Context, ecosystem string, names []string, c *collector) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	stmts := chunkStmts{db: conn}
	defer stmts.close()
	for len(names) > 0 {
		n := min(lookupChunk, len(names))
		args := make([]any, 0, n+1)
		args = append(args, ecosystem)
		for _, name := range names[:n] {
			args = append(args, name)
		}
		rows, err := stmts.query(ctx, n, s.Rebind(`
SELECT k.name, a.part, p.source, a.id, a.modified, a.data
FROM partition_state p
CROSS JOIN advisory_package k
JOIN advisory a ON a.part = k.part AND a.generation = k.generation AND a.id = k.id
WHERE k.part = p.name AND k.generation = p.generation AND k.ecosystem = ? AND k.name IN (`+inList(n)+`) AND a.withdrawn = 0`), args)
		if err != nil {
			return err
		}
		if err := c.add(rows); err != nil {
			return err
		}
		names = names[n:]
	}
	return nil
}

// chunkStmts runs a lookup's chunked statements on one connection or
// transaction: the statement of a full chunk (size keys, the same text
// every time) is prepared once, a shorter last chunk's is not.
type chunkStmts struct {
	db interface {
		PrepareContext(context.Context, string) (*sql.Stmt, error)
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	}
	size int // keys of a full chunk; lookupChunk when 0
	full *sql.Stmt
}

func (c *chunkStmts) query(ctx context.Context, n int, q string, args []any) (*sql.Rows, error) {
	full := c.size
	if full == 0 {
		full = lookupChunk
	}
	if n != full {
		return c.db.QueryContext(ctx, q, args...)
	}
	if c.full == nil {
		var err error
		if c.full, err = c.db.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
	}
	return c.full.QueryContext(ctx, args...)
}

func (c *chunkStmts) close() {
	if c.full != nil {
		c.full.Close()
	}
}

// collector gathers the rows of a lookup by name.
type collector struct {
	out     map[string][]Advisory
	docs    map[string][]byte // part + "\x00" + id + "\x00" + modified -> Data
	inflate bool              // Data inflated, else as stored
}

// add adds rows to out. A record mirrored in two partitions (e.g.
// "Debian" and "Debian:12") is kept once, in its newest version. Rows
// come unsorted: sorting them in the engine would carry their documents
// through a temporary sorter.
func (c *collector) add(rows *sql.Rows) error {
	defer rows.Close()
	var raw sql.RawBytes
	for rows.Next() {
		var a Advisory
		var name, mod string
		if err := rows.Scan(&name, &a.Partition, &a.Source, &a.ID, &mod, &raw); err != nil {
			return err
		}
		a.Modified = parseTime(mod)
		list := c.out[name]
		dup := slices.IndexFunc(list, func(b Advisory) bool { return b.ID == a.ID })
		if dup >= 0 && !a.Modified.After(list[dup].Modified) {
			continue
		}
		key := a.Partition + "\x00" + a.ID + "\x00" + mod
		data, ok := c.docs[key]
		if !ok {
			var err error
			if data, err = storedData(raw, c.inflate); err != nil {
				return fmt.Errorf("%s: %w", a.ID, err)
			}
			c.docs[key] = data
		}
		a.Data = data
		if dup >= 0 {
			list[dup] = a
			continue
		}
		c.out[name] = append(list, a)
	}
	return rows.Err()
}
