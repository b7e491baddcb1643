package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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
			res, err := s.db.ExecContext(ctx, q, args...)
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
}

// ApplyDelta replaces and deletes individual records of the partition's live
// generation and records the new state, all in one transaction. The record
// and withdrawn counts of st are the partition's counts changed by what the
// delta replaced, deleted and wrote (its work follows the size of the delta,
// not of the partition); the state written is returned. When st.Generation
// is set it is the generation the delta was computed against, and a
// partition replaced since fails the delta.
func (s *Store) ApplyDelta(ctx context.Context, part string, d Delta, st PartitionState) (PartitionState, error) {
	upserts, deletes := d.Upserts, d.Deletes
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var cur PartitionState
		err := tx.QueryRowContext(ctx, s.Rebind(`SELECT source, generation, records, withdrawn FROM partition_state WHERE name = ?`), part).
			Scan(&cur.Source, &cur.Generation, &cur.Records, &cur.Withdrawn)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", part, ErrNoPartition)
		} else if err != nil {
			return err
		}
		gen := cur.Generation
		if st.Generation != 0 && gen != st.Generation {
			return fmt.Errorf("partition %s was replaced by a concurrent import", part)
		}
		// A record replaced by one with the same package keys and aliases
		// (most changes: a new modified time, text, ranges) is updated in
		// place: its index rows stay as they are. The others are deleted
		// and written again.
		inPlace, err := s.updateInPlace(ctx, tx, part, gen, upserts, deletes)
		if err != nil {
			return err
		}
		ids := slices.Clone(deletes)
		rewrite := make([]Record, 0, len(upserts)-len(inPlace))
		for _, r := range upserts {
			if _, ok := inPlace[r.ID]; !ok {
				ids = append(ids, r.ID)
				rewrite = append(rewrite, r)
			}
		}
		old, err := deleteRecords(ctx, s, tx, part, gen, ids)
		if err != nil {
			return err
		}
		for _, wd := range inPlace {
			old.withdrawn += wd
		}
		// The journal names the keys of the records replaced or deleted
		// (as they were stored) and of the records replacing them.
		var keys []PackageKey
		withdrawn := 0
		for _, r := range upserts {
			keys = append(keys, r.Packages...)
			if r.Withdrawn {
				withdrawn++
			}
		}
		keys = append(keys, old.keys...)
		if len(keys) > 0 {
			if err := s.journal(ctx, tx, part, keys, nil); err != nil {
				return err
			}
		}
		if err := insertRecords(ctx, s, tx, part, gen, rewrite); err != nil {
			return err
		}
		drop := append(append(slices.Clone(d.Unskipped), deletes...), skippedIDs(d.Skipped)...)
		if err := replaceSkipped(ctx, s, tx, part, false, drop, d.Skipped); err != nil {
			return err
		}
		st.Name, st.Source, st.Generation = part, cur.Source, gen
		st.Records = cur.Records - old.records + len(rewrite)
		st.Withdrawn = cur.Withdrawn - old.withdrawn + withdrawn
		return upsertPartition(ctx, s, tx, st)
	})
	if err != nil {
		return st, fmt.Errorf("store: apply delta to %s: %w", part, err)
	}
	return st, nil
}

// updateInPlace rewrites the advisory rows of the upserts whose stored
// record (in generation gen) has the same package keys and aliases, and
// returns their IDs with the withdrawn flag they had (0 or 1). IDs also
// deleted or upserted twice are left to the delete-and-insert path.
func (s *Store) updateInPlace(ctx context.Context, tx *sql.Tx, part string, gen int64, upserts []Record, deletes []string) (map[string]int, error) {
	out := map[string]int{}
	if len(upserts) == 0 {
		return out, nil
	}
	count := make(map[string]int, len(upserts)+len(deletes))
	for _, id := range deletes {
		count[id] += 2
	}
	for _, r := range upserts {
		count[r.ID]++
	}
	sel, err := tx.PrepareContext(ctx, s.Rebind(`SELECT pkgs, withdrawn FROM advisory WHERE part = ? AND generation = ? AND id = ?`))
	if err != nil {
		return nil, err
	}
	defer sel.Close()
	selAlias, err := tx.PrepareContext(ctx, s.Rebind(`SELECT alias FROM advisory_alias WHERE part = ? AND generation = ? AND id = ?`))
	if err != nil {
		return nil, err
	}
	defer selAlias.Close()
	var upd *sql.Stmt
	defer func() {
		if upd != nil {
			upd.Close()
		}
	}()
	var stored []string
	for i := range upserts {
		r := &upserts[i]
		if count[r.ID] != 1 {
			continue
		}
		var pkgs string
		var wd int
		if err := sel.QueryRowContext(ctx, part, gen, r.ID).Scan(&pkgs, &wd); errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return nil, err
		}
		if pkgs != encodeKeys(r.Packages) {
			continue
		}
		if stored, err = aliasesOf(ctx, selAlias, part, gen, r.ID, stored[:0]); err != nil {
			return nil, err
		}
		var want []string
		for i, a := range r.Aliases { // the rows insertRecords writes
			if a != r.ID && !slices.Contains(r.Aliases[:i], a) {
				want = append(want, a)
			}
		}
		slices.Sort(stored)
		slices.Sort(want)
		if !slices.Equal(stored, want) {
			continue
		}
		if upd == nil {
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
		out[r.ID] = wd
	}
	return out, nil
}

// aliasesOf appends the stored aliases of one record to buf.
func aliasesOf(ctx context.Context, sel *sql.Stmt, part string, gen int64, id string, buf []string) ([]string, error) {
	rows, err := sel.QueryContext(ctx, part, gen, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		buf = append(buf, a)
	}
	return buf, rows.Err()
}

// TouchPartition records a sync that changed nothing.
func (s *Store) TouchPartition(ctx context.Context, part string, lastSync time.Time) error {
	_, err := s.db.ExecContext(ctx, s.Rebind(`UPDATE partition_state SET last_sync = ? WHERE name = ?`), fmtTime(lastSync), part)
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
	if _, err := s.db.ExecContext(ctx, s.Rebind(`DELETE FROM advisory_skipped WHERE part = ?`), part); err != nil {
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
		if _, err := s.db.ExecContext(ctx, s.Rebind(`DELETE FROM pending_generation WHERE generation = ?`), g); err != nil {
			return err
		}
	}
	gens, err := s.storedGenerations(ctx)
	if err != nil {
		return err
	}
	var dead []partGen
	live := s.Rebind(`SELECT (SELECT COUNT(*) FROM partition_state WHERE name = ? AND generation = ?) + (SELECT COUNT(*) FROM pending_generation WHERE generation = ?)`)
	for _, g := range gens {
		var n int
		if err := s.db.QueryRowContext(ctx, live, g.part, g.gen, g.gen).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			dead = append(dead, g)
		}
	}
	for _, d := range dead {
		if err := s.deleteGeneration(ctx, d.part, d.gen); err != nil {
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
// before each sync costs the same whatever the store holds.
func (s *Store) storedGenerations(ctx context.Context) ([]partGen, error) {
	next := s.Rebind(`SELECT part, generation FROM advisory WHERE (part, generation) > (?, ?) ORDER BY part, generation LIMIT 1`)
	var out []partGen
	cur := partGen{gen: -1 << 62}
	for {
		var g partGen
		err := s.db.QueryRowContext(ctx, next, cur.part, cur.gen).Scan(&g.part, &g.gen)
		if errors.Is(err, sql.ErrNoRows) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, g)
		cur = g
	}
}
