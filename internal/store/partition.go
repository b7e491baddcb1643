package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// A partition's life after an import: incremental deltas, touching its sync
// time, purging it, and collecting the garbage of dead generations.

// deleteGeneration removes every row of one generation in bounded batches,
// so that no single transaction holds the write lock for long.
func (s *Store) deleteGeneration(ctx context.Context, part string, gen int64) error {
	for _, table := range []string{"advisory_package", "advisory_alias", "advisory"} {
		q := s.Rebind(`DELETE FROM ` + table + ` WHERE part = ? AND generation = ? AND id IN (SELECT id FROM ` + table + ` WHERE part = ? AND generation = ? LIMIT 5000)`)
		args := []any{part, gen, part, gen}
		if s.dialect == Postgres {
			// The batch's row addresses are computed once (an InitPlan),
			// whatever the planner's statistics say about the generation.
			q, args = s.Rebind(`DELETE FROM `+table+` WHERE ctid = ANY(ARRAY(SELECT ctid FROM `+table+` WHERE part = ? AND generation = ? LIMIT 5000))`), args[:2]
		}
		for {
			res, err := s.exec(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("store: delete generation %d of %s: %w", gen, part, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				break
			}
		}
	}
	return nil
}

// Delta is one incremental change of a partition.
type Delta struct {
	Upserts []Record
	Deletes []string  // IDs removed upstream
	Skipped []Skipped // records found malformed; they are remembered
	// Unskipped are IDs no longer to remember as skipped (read fine now,
	// or removed upstream).
	Unskipped []string
	// Base, when set, holds the stored rows read ahead (ReadDeltaBase);
	// ApplyDelta closes it.
	Base *DeltaBase
}

// ApplyDelta replaces and deletes individual records of the partition's live
// generation and records the new state, all in one transaction. The record
// and withdrawn counts of st are the partition's counts changed by what the
// delta replaced, deleted and wrote (its work follows the size of the delta,
// not of the partition); the state written is returned. An ID upserted
// twice is written once, from its first copy (as an import keeps the first
// copy of a repeated ID); an ID both upserted and deleted is replaced. When
// st.Generation is set it is the generation the delta was computed against,
// and a partition replaced since fails the delta.
func (s *Store) ApplyDelta(ctx context.Context, part string, d Delta, st PartitionState) (PartitionState, error) {
	upserts, deletes := firstCopies(d.Upserts, func(string) bool { return true }), d.Deletes
	defer d.Base.Close()
	run := s.tx
	if d.Base != nil && d.Base.conn != nil {
		run = func(ctx context.Context, fn func(*sql.Tx) error) error {
			defer s.listsChanged()
			defer s.writes.take(ctx)()
			return txOn(ctx, d.Base.conn, fn)
		}
	}
	err := run(ctx, func(tx *sql.Tx) error {
		// The delta's statements (a few per record) run without ctx's
		// cancellation: a driver watches a context that can end with a
		// goroutine per statement (modernc's SQLite: ~100 goroutines for
		// the corpus's 30-record Go delta). A cancelled ctx still ends
		// the delta: the transaction, begun with ctx, is rolled back
		// and the next statement fails.
		ctx := context.WithoutCancel(ctx)
		// The partition's state is changed from what it was (its counts,
		// its sketch): on PostgreSQL its row is locked first, so that
		// deltas to one partition at once (a command beside a server's
		// job) apply one after the other. On SQLite a transaction that
		// read before another's write fails to write.
		lock := ""
		if s.dialect == Postgres {
			lock = " FOR UPDATE"
		}
		var cur PartitionState
		var sketch []byte
		err := tx.QueryRowContext(ctx, s.Rebind(`SELECT source, generation, records, withdrawn, id_sketch FROM partition_state WHERE name = ?`+lock), part).
			Scan(&cur.Source, &cur.Generation, &cur.Records, &cur.Withdrawn, &sketch)
		cur.Sketch = decodeSketch(sketch)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", part, ErrNoPartition)
		} else if err != nil {
			return err
		}
		gen := cur.Generation
		if st.Generation != 0 && gen != st.Generation {
			return fmt.Errorf("partition %s was replaced by a concurrent import", part)
		}
		// What the partition holds of each ID the delta names, read once.
		deleted := make(map[string]bool, len(deletes))
		for _, id := range deletes {
			deleted[id] = true
		}
		base, err := d.Base.current(ctx, tx, part, gen)
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(upserts)+len(deletes))
		for _, r := range upserts {
			ids = append(ids, r.ID)
		}
		stored, err := storedRows(ctx, s, tx, part, gen, append(ids, deletes...), base)
		if err != nil {
			return err
		}
		// A record replaced by one with the same package keys and aliases
		// (most changes: a new modified time, text, ranges) is updated in
		// place: its index rows stay as they are. The others are deleted
		// (when stored) and written again.
		inPlace, err := s.updateInPlace(ctx, tx, part, gen, upserts, deleted, stored)
		if err != nil {
			return err
		}
		var gone []string // stored records to delete with their index rows
		for id := range deleted {
			if _, ok := stored[id]; ok {
				gone = append(gone, id)
			}
		}
		slices.Sort(gone) // in a stable order: the journal follows it
		rewrite := make([]Record, 0, len(upserts)-len(inPlace))
		withdrawn := 0 // of the records written
		for _, r := range upserts {
			if r.Withdrawn {
				withdrawn++
			}
			if inPlace[r.ID] {
				continue
			}
			rewrite = append(rewrite, r)
			if _, ok := stored[r.ID]; ok && !deleted[r.ID] {
				gone = append(gone, r.ID)
			}
		}
		old, err := deleteRecords(ctx, s, tx, part, gen, gone, stored)
		if err != nil {
			return err
		}
		for id := range inPlace {
			old.withdrawn += stored[id].withdrawn
		}
		// The journal names the keys of the records replaced or deleted
		// (as they were stored) and of the records replacing them.
		var keys []PackageKey
		for _, r := range upserts {
			keys = append(keys, r.Packages...)
		}
		keys = append(keys, old.keys...)
		if len(keys) > 0 {
			if err := s.journal(ctx, tx, part, keys, nil); err != nil {
				return err
			}
		}
		kept, err := writeRecords(ctx, s, tx, part, gen, rewrite, false)
		written := len(kept)
		if err != nil {
			return err
		}
		drop := append(append(slices.Clone(d.Unskipped), deletes...), skippedIDs(d.Skipped)...)
		if err := replaceSkipped(ctx, s, tx, part, false, drop, d.Skipped); err != nil {
			return err
		}
		st.Name, st.Source, st.Generation = part, cur.Source, gen
		st.Records = cur.Records - old.records + written
		st.Withdrawn = cur.Withdrawn - old.withdrawn + withdrawn
		st.Sketch = deltaSketch(cur.Sketch, st.Sketch, gone, kept)
		if written != len(rewrite) {
			st.Sketch = nil // written again by a sync that reads the IDs
			// Not every record was written (cannot happen once the
			// stored ones are deleted): count the rows.
			if err := tx.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*), COALESCE(SUM(withdrawn), 0) FROM advisory WHERE part = ? AND generation = ?`), part, gen).Scan(&st.Records, &st.Withdrawn); err != nil {
				return err
			}
		}
		return upsertPartition(ctx, s, tx, st)
	})
	if err != nil {
		return st, fmt.Errorf("store: apply delta to %s: %w", part, err)
	}
	return st, nil
}

// deltaSketch is the sketch of a partition's IDs after a delta deleted
// gone and wrote kept (a record rewritten in place keeps its ID). A
// partition without one (cur nil) takes before, the sketch of the IDs the
// caller read before the delta (nil when it did not). nil when an ID
// cannot be held.
func deltaSketch(cur, before *IDSketch, gone []string, kept []Record) *IDSketch {
	if cur == nil {
		if before == nil {
			return nil
		}
		c := *before
		cur = &c
	}
	for _, id := range gone {
		if !cur.Remove(id) {
			return nil
		}
	}
	for _, r := range kept {
		if !cur.Add(r.ID) {
			return nil
		}
	}
	return cur
}

// storedRow is what a delta needs of a stored record: its package keys
// (advisory.pkgs), whether it is withdrawn (0 or 1) and its alias rows
// (one per line).
type storedRow struct {
	pkgs      string
	withdrawn int
	aliases   string
	nAliases  int
}

// storedRows reads the stored rows of generation gen of ids, with their
// aliases; IDs the generation does not hold are absent from the map. The
// IDs base asked about are taken from it. The others are read
// storedRowsBatch at a time, one query each (a query per ID cost a
// statement execution each: ~30 µs per row in a fresh process).
//
// Its queries run without ctx's cancellation (see ApplyDelta), which is
// checked before each.
func storedRows(ctx context.Context, s *Store, q querier, part string, gen int64, ids []string, base *DeltaBase) (map[string]storedRow, error) {
	quiet := context.WithoutCancel(ctx)
	out := make(map[string]storedRow, len(ids))
	want := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if base != nil && base.asked[id] {
			if r, ok := base.rows[id]; ok {
				out[id] = r
			}
			continue
		}
		want = append(want, id)
	}
	agg := `group_concat(l.alias, char(10))`
	if s.dialect == Postgres {
		agg = `string_agg(l.alias, chr(10))`
	}
	aliases := ` FROM advisory_alias l WHERE l.part = a.part AND l.generation = a.generation AND l.id = a.id)`
	for len(want) > 0 {
		batch := want[:min(len(want), storedRowsBatch)]
		want = want[len(batch):]
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		args := make([]any, 0, 2+len(batch))
		args = append(args, part, gen)
		for _, id := range batch {
			args = append(args, id)
		}
		rows, err := q.QueryContext(quiet, s.Rebind(`SELECT a.id, a.pkgs, a.withdrawn, COALESCE((SELECT `+agg+aliases+`, ''), (SELECT COUNT(*)`+aliases+`
FROM advisory a WHERE a.part = ? AND a.generation = ? AND a.id IN (?`+strings.Repeat(`, ?`, len(batch)-1)+`)`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var r storedRow
			if err := rows.Scan(&id, &r.pkgs, &r.withdrawn, &r.aliases, &r.nAliases); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = r
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// storedRowsBatch bounds the IDs of one storedRows query.
const storedRowsBatch = 200

// updateInPlace rewrites the advisory rows of the upserts whose stored
// record (stored, of generation gen) has the same package keys and
// aliases, and returns their IDs. IDs also deleted are left to the
// delete-and-insert path, as are records whose stored aliases cannot be
// told apart (one holding the line separator).
func (s *Store) updateInPlace(ctx context.Context, tx *sql.Tx, part string, gen int64, upserts []Record, deleted map[string]bool, stored map[string]storedRow) (map[string]bool, error) {
	out := map[string]bool{}
	var upd *sql.Stmt
	defer func() {
		if upd != nil {
			upd.Close()
		}
	}()
	var have, want []string
	for i := range upserts {
		r := &upserts[i]
		old, ok := stored[r.ID]
		if !ok || deleted[r.ID] || old.pkgs != encodeKeys(r.Packages) {
			continue
		}
		have = have[:0]
		if old.aliases != "" {
			have = append(have, strings.Split(old.aliases, "\n")...)
		}
		if len(have) != old.nAliases {
			continue // an alias holds the separator
		}
		want = want[:0]
		eachAlias(r, func(a string) { want = append(want, a) }) // the rows writeRecords writes
		slices.Sort(have)
		slices.Sort(want)
		if !slices.Equal(have, want) {
			continue
		}
		if upd == nil {
			var err error
			if upd, err = tx.PrepareContext(ctx, s.Rebind(`UPDATE advisory SET modified = ?, withdrawn = ?, data = ? WHERE part = ? AND generation = ? AND id = ?`)); err != nil {
				return nil, err
			}
		}
		newWD, data := 0, r.Deflated
		if r.Withdrawn {
			newWD = 1
		}
		if data == nil {
			data = Deflate(r.Data)
		}
		if _, err := upd.ExecContext(ctx, fmtTime(r.Modified), newWD, data, part, gen, r.ID); err != nil {
			return nil, err
		}
		out[r.ID] = true
	}
	return out, nil
}

// TouchPartition records a sync that changed nothing.
func (s *Store) TouchPartition(ctx context.Context, part string, lastSync time.Time) error {
	_, err := s.exec(ctx, s.Rebind(`UPDATE partition_state SET last_sync = ? WHERE name = ?`), fmtTime(lastSync), part)
	return err
}

// Purge deletes a partition and all its records.
func (s *Store) Purge(ctx context.Context, part string) error {
	st, err := s.Partition(ctx, part)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM partition_state WHERE name = ?`), part); err != nil {
			return err
		}
		return s.journal(ctx, tx, part, nil, nil)
	})
	if err != nil {
		return fmt.Errorf("store: purge %s: %w", part, err)
	}
	if _, err := s.exec(ctx, s.Rebind(`DELETE FROM advisory_skipped WHERE part = ?`), part); err != nil {
		return fmt.Errorf("store: purge %s: %w", part, err)
	}
	return s.deleteGeneration(ctx, part, st.Generation)
}

// CollectGarbage deletes rows of generations that are neither live nor
// being written by a running import. An import is considered dead when its
// process on this host is gone, or when its heartbeat is older than
// staleAfter (an import on another host, or a platform where processes
// cannot be probed).
func (s *Store) CollectGarbage(ctx context.Context) error {
	// Pending generations whose heartbeat is stale or whose process is gone
	// are forgotten; nothing is written when there are none (the usual
	// case before a sync).
	cutoff := time.Now().Add(-staleAfter)
	prows, err := s.db.QueryContext(ctx, `SELECT generation, owner, heartbeat FROM pending_generation`)
	if err != nil {
		return err
	}
	var deadGens []int64
	for prows.Next() {
		var g int64
		var owner, heartbeat string
		if err := prows.Scan(&g, &owner, &heartbeat); err != nil {
			prows.Close()
			return err
		}
		if parseTime(heartbeat).Before(cutoff) || ownerDead(owner) {
			deadGens = append(deadGens, g)
		}
	}
	if err := prows.Close(); err != nil {
		return err
	}
	for _, g := range deadGens {
		if _, err := s.exec(ctx, s.Rebind(`DELETE FROM pending_generation WHERE generation = ?`), g); err != nil {
			return err
		}
	}
	gens, err := s.storedGenerations(ctx)
	if err != nil {
		return err
	}
	// A generation is alive when it is its partition's, or pending (being
	// written by an import): both tables are small and read once.
	live, err := queryAll(ctx, s.db, `SELECT name, generation FROM partition_state UNION ALL SELECT '', generation FROM pending_generation`, nil, func(r scanner) (partGen, error) {
		var g partGen
		return g, r.Scan(&g.part, &g.gen)
	})
	if err != nil {
		return err
	}
	alive := map[partGen]bool{}
	pending := map[int64]bool{}
	for _, g := range live {
		if g.part == "" {
			pending[g.gen] = true
		} else {
			alive[g] = true
		}
	}
	for _, g := range gens {
		if alive[g] || pending[g.gen] {
			continue
		}
		if err := s.deleteGeneration(ctx, g.part, g.gen); err != nil {
			return err
		}
	}
	return nil
}

// partGen is one (partition, generation) pair that has advisory rows.
type partGen struct {
	part string
	gen  int64
}

// storedGenerations lists the (partition, generation) pairs of the advisory
// table in order by stepping through its (part, generation, id) index: one
// seek per pair instead of reading every row, so that collecting garbage
// before each sync costs the same whatever the store holds. Each step is a
// seek on a prefix of the index (the next generation of the partition, else
// the first of the next partition): SQLite reads a row-value comparison
// "(part, generation) > (?, ?)" by seeking to the pair and then stepping
// over every row of it, which for a live generation is every record of the
// partition (4,301 index entries for Go, ~0.8 ms per sync).
func (s *Store) storedGenerations(ctx context.Context) ([]partGen, error) {
	// Prepared once: a store of 19 partitions takes ~40 steps.
	nextGen, err := s.db.PrepareContext(ctx, s.Rebind(`SELECT generation FROM advisory WHERE part = ? AND generation > ? ORDER BY generation LIMIT 1`))
	if err != nil {
		return nil, err
	}
	defer nextGen.Close()
	nextPart, err := s.db.PrepareContext(ctx, s.Rebind(`SELECT part, generation FROM advisory WHERE part > ? ORDER BY part, generation LIMIT 1`))
	if err != nil {
		return nil, err
	}
	defer nextPart.Close()
	var out []partGen
	var cur partGen
	for first := true; ; first = false {
		g := partGen{part: cur.part}
		err := sql.ErrNoRows
		if !first {
			err = nextGen.QueryRowContext(ctx, cur.part, cur.gen).Scan(&g.gen)
		}
		if errors.Is(err, sql.ErrNoRows) {
			err = nextPart.QueryRowContext(ctx, cur.part).Scan(&g.part, &g.gen)
			if errors.Is(err, sql.ErrNoRows) {
				return out, nil
			}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, g)
		cur = g
	}
}
