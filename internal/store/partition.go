package store

import (
	"context"
	"database/sql"
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
// and withdrawn counts of st are recomputed from what the partition holds;
// the state written is returned.
func (s *Store) ApplyDelta(ctx context.Context, part string, d Delta, st PartitionState) (PartitionState, error) {
	upserts, deletes := d.Upserts, d.Deletes
	cur, err := s.Partition(ctx, part)
	if err != nil {
		return st, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var gen int64
		if err := tx.QueryRowContext(ctx, s.Rebind(`SELECT generation FROM partition_state WHERE name = ?`), part).Scan(&gen); err != nil {
			return err
		}
		if gen != cur.Generation {
			return fmt.Errorf("partition %s was replaced by a concurrent import", part)
		}
		ids := make([]string, 0, len(upserts)+len(deletes))
		for _, r := range upserts {
			ids = append(ids, r.ID)
		}
		ids = append(ids, deletes...)
		if err := s.journalDelta(ctx, tx, part, gen, upserts, deletes); err != nil {
			return err
		}
		if err := deleteRecords(ctx, s, tx, part, gen, ids); err != nil {
			return err
		}
		if err := insertRecords(ctx, s, tx, part, gen, upserts); err != nil {
			return err
		}
		drop := append(append(slices.Clone(d.Unskipped), deletes...), skippedIDs(d.Skipped)...)
		if err := replaceSkipped(ctx, s, tx, part, false, drop, d.Skipped); err != nil {
			return err
		}
		st.Name, st.Source, st.Generation = part, cur.Source, gen
		if err := tx.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*), COALESCE(SUM(withdrawn), 0) FROM advisory WHERE part = ? AND generation = ?`), part, gen).Scan(&st.Records, &st.Withdrawn); err != nil {
			return err
		}
		return upsertPartition(ctx, s, tx, st)
	})
	if err != nil {
		return st, fmt.Errorf("store: apply delta to %s: %w", part, err)
	}
	return st, nil
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
	cutoff := fmtTime(time.Now().Add(-staleAfter))
	if _, err := s.db.ExecContext(ctx, s.Rebind(`DELETE FROM pending_generation WHERE heartbeat < ?`), cutoff); err != nil {
		return err
	}
	prows, err := s.db.QueryContext(ctx, `SELECT generation, owner FROM pending_generation`)
	if err != nil {
		return err
	}
	var deadGens []int64
	for prows.Next() {
		var g int64
		var owner string
		if err := prows.Scan(&g, &owner); err != nil {
			prows.Close()
			return err
		}
		if ownerDead(owner) {
			deadGens = append(deadGens, g)
		}
	}
	prows.Close()
	for _, g := range deadGens {
		if _, err := s.db.ExecContext(ctx, s.Rebind(`DELETE FROM pending_generation WHERE generation = ?`), g); err != nil {
			return err
		}
	}
	rows, err := s.db.QueryContext(ctx, `
SELECT DISTINCT a.part, a.generation FROM advisory a
WHERE NOT EXISTS (SELECT 1 FROM partition_state p WHERE p.name = a.part AND p.generation = a.generation)
  AND NOT EXISTS (SELECT 1 FROM pending_generation g WHERE g.generation = a.generation)`)
	if err != nil {
		return err
	}
	type pg struct {
		part string
		gen  int64
	}
	var dead []pg
	for rows.Next() {
		var x pg
		if err := rows.Scan(&x.part, &x.gen); err != nil {
			rows.Close()
			return err
		}
		dead = append(dead, x)
	}
	rows.Close()
	for _, d := range dead {
		if err := s.deleteGeneration(ctx, d.part, d.gen); err != nil {
			return err
		}
	}
	return nil
}
