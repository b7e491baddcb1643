package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// The rows of mirrored records as imports and deltas write and delete them:
// one advisory row, its package keys and its aliases per record.

func upsertPartition(ctx context.Context, s *Store, tx *sql.Tx, st PartitionState) error {
	_, err := tx.ExecContext(ctx, s.Rebind(`
INSERT INTO partition_state (name, source, generation, base_url, last_sync, watermark, records, withdrawn, malformed, id_sketch)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET source = excluded.source, generation = excluded.generation,
  base_url = excluded.base_url, last_sync = excluded.last_sync, watermark = excluded.watermark,
  records = excluded.records, withdrawn = excluded.withdrawn, malformed = excluded.malformed, id_sketch = excluded.id_sketch`),
		st.Name, st.Source, st.Generation, st.BaseURL, fmtTime(st.LastSync), fmtTime(st.Watermark), st.Records, st.Withdrawn, st.Malformed, st.Sketch.encode())
	return err
}

// writeRecords writes recs as rows of generation gen of part (their
// alias rows too unless noAliases) and returns the records written: recs,
// or when an ID repeats (within recs, or one the generation holds already)
// the copies whose advisory rows were inserted, so that a record's package
// keys and aliases are always those of the document stored (the first
// copy: a later one's keys would lead to the first one's document, and a
// delta replacing the record would not delete them). Every row of a
// generation repeats its partition and generation, and the package rows of
// a partition mostly one ecosystem: the INSERT statements bind those once
// and each row only its own values. (On SQLite the driver copies every
// bound value into C memory; binding was a fifth of an import writer's
// time and half of the ~23 parameters per record were the shared ones:
// writer CPU per corpus record 24-25 -> 21-22 µs, BenchmarkWriteCorpus in
// osvmirror.)
func writeRecords(ctx context.Context, s *Store, tx *sql.Tx, part string, gen int64, recs []Record, noAliases bool) ([]Record, error) {
	adv := make([]any, 0, 5*len(recs))
	for i := range recs {
		r := &recs[i]
		wd, data := advisoryValues(r)
		adv = append(adv, r.ID, fmtTime(r.Modified), wd, data, encodeKeys(r.Packages))
	}
	partGen, shared := []string{"part", "generation"}, []any{part, gen}
	inserted, err := insertSharedAs(ctx, s.dialect, tx, true, "advisory", partGen, shared, []string{"id", "modified", "withdrawn", "data", "pkgs"}, adv)
	if err != nil {
		return nil, err
	}
	if int(inserted) != len(recs) {
		if recs, err = insertedCopies(ctx, s.dialect, tx, part, gen, recs, inserted); err != nil {
			return nil, err
		}
	}
	pkgs := map[string][]any{} // by ecosystem: name, id per row
	var alias []any
	for i := range recs {
		r := &recs[i]
		for _, k := range r.Packages {
			pkgs[k.Ecosystem] = append(pkgs[k.Ecosystem], k.Name, r.ID)
		}
		if !noAliases {
			eachAlias(r, func(a string) { alias = append(alias, a, r.ID) })
		}
	}
	ecos := make([]string, 0, len(pkgs))
	for eco := range pkgs {
		ecos = append(ecos, eco)
	}
	slices.Sort(ecos)
	for _, eco := range ecos {
		if _, err := insertSharedAs(ctx, s.dialect, tx, true, "advisory_package", []string{"part", "generation", "ecosystem"}, []any{part, gen, eco}, []string{"name", "id"}, pkgs[eco]); err != nil {
			return nil, err
		}
	}
	_, err = insertSharedAs(ctx, s.dialect, tx, true, "advisory_alias", partGen, shared, []string{"alias", "id"}, alias)
	return recs, err
}

// insertedCopies returns the records of recs whose advisory rows the
// statements just run in tx inserted (inserted of them; the others were
// skipped as repeated IDs): the first copy of each ID inserted. On SQLite
// those rows have the rowids up to last_insert_rowid() (a new row takes
// the largest rowid plus one); on PostgreSQL they were created by the
// transaction (xmin: callers write recs' IDs once per transaction). A rare
// path: an archive that repeats an ID.
func insertedCopies(ctx context.Context, d Dialect, tx *sql.Tx, part string, gen int64, recs []Record, inserted int64) ([]Record, error) {
	var ids []string
	if inserted > 0 {
		q, args := `SELECT id FROM advisory WHERE rowid > last_insert_rowid() - ? AND rowid <= last_insert_rowid() AND part = ? AND generation = ?`, []any{inserted, part, gen}
		if d == Postgres {
			q, args = `SELECT id FROM advisory WHERE part = $1 AND generation = $2 AND id = ANY($3) AND xmin = pg_current_xact_id()::xid`, []any{part, gen, recordIDs(recs)}
		}
		var err error
		if ids, err = queryAll(ctx, tx, q, args, func(r scanner) (string, error) {
			var id string
			return id, r.Scan(&id)
		}); err != nil {
			return nil, err
		}
	}
	kept := make(map[string]bool, len(ids))
	for _, id := range ids {
		kept[id] = true
	}
	out := firstCopies(recs, func(id string) bool { return kept[id] })
	if len(out) != int(inserted) {
		return nil, fmt.Errorf("%d advisory rows inserted but %d of the records written found", inserted, len(out))
	}
	return out, nil
}

func recordIDs(recs []Record) []string {
	out := make([]string, len(recs))
	for i := range recs {
		out[i] = recs[i].ID
	}
	return out
}

// firstCopies is the first copy of each ID of recs that keep accepts.
func firstCopies(recs []Record, keep func(id string) bool) []Record {
	seen := make(map[string]bool, len(recs))
	out := recs[:0:0]
	for _, r := range recs {
		if !seen[r.ID] && keep(r.ID) {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out
}

// advisoryValues is a record's withdrawn flag and deflated document as
// its advisory row holds them.
func advisoryValues(r *Record) (wd int, data []byte) {
	if r.Withdrawn {
		wd = 1
	}
	data = r.Deflated
	if data == nil {
		data = Deflate(r.Data)
	}
	return wd, data
}

// eachRecordRow calls adv for each record (with its withdrawn flag and deflated
// document), pkg for each of its package keys and alias for each of its
// distinct aliases other than its ID.
func eachRecordRow(recs []Record, adv func(r *Record, wd int, data []byte), pkg func(r *Record, k PackageKey), alias func(r *Record, a string)) {
	for i := range recs {
		r := &recs[i]
		wd, data := advisoryValues(r)
		adv(r, wd, data)
		for _, k := range r.Packages {
			pkg(r, k)
		}
		eachAlias(r, func(a string) { alias(r, a) })
	}
}

// eachAlias calls fn for each distinct alias of r other than its ID.
func eachAlias(r *Record, fn func(a string)) {
	for i, a := range r.Aliases {
		if a != r.ID && !slices.Contains(r.Aliases[:i], a) {
			fn(a)
		}
	}
}

// deletedRecords is what deleteRecords removed: how many records, how many
// of them withdrawn, and their package keys.
type deletedRecords struct {
	records, withdrawn int
	keys               []PackageKey
}

// deleteRecords deletes the stored records ids (each once; stored holds
// their rows, read by storedRows) of a generation with their index rows and
// reports what was there.
func deleteRecords(ctx context.Context, s *Store, tx *sql.Tx, part string, gen int64, ids []string, stored map[string]storedRow) (deletedRecords, error) {
	var out deletedRecords
	if len(ids) == 0 {
		return out, nil
	}
	// Index rows are found by primary key from the keys the record keeps.
	delPkg, err := tx.PrepareContext(ctx, s.Rebind(`DELETE FROM advisory_package WHERE part = ? AND generation = ? AND ecosystem = ? AND name = ? AND id = ?`))
	if err != nil {
		return out, err
	}
	defer delPkg.Close()
	for _, id := range ids {
		row := stored[id]
		out.records++
		out.withdrawn += row.withdrawn
		keys := decodeKeys(row.pkgs)
		out.keys = append(out.keys, keys...)
		for _, k := range keys {
			if _, err := delPkg.ExecContext(ctx, part, gen, k.Ecosystem, k.Name, id); err != nil {
				return out, err
			}
		}
	}
	for _, table := range []string{"advisory_alias", "advisory"} {
		st, err := tx.PrepareContext(ctx, s.Rebind(`DELETE FROM `+table+` WHERE part = ? AND generation = ? AND id = ?`))
		if err != nil {
			return out, err
		}
		for _, id := range ids {
			if _, err := st.ExecContext(ctx, part, gen, id); err != nil {
				st.Close()
				return out, err
			}
		}
		st.Close()
	}
	return out, nil
}

// encodeKeys renders index keys for the advisory.pkgs column.
func encodeKeys(keys []PackageKey) string {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k.Ecosystem)
		b.WriteByte('\t')
		b.WriteString(k.Name)
		b.WriteByte('\n')
	}
	return b.String()
}

func decodeKeys(s string) []PackageKey {
	var out []PackageKey
	for line := range strings.SplitSeq(s, "\n") {
		if eco, name, ok := strings.Cut(line, "\t"); ok {
			out = append(out, PackageKey{Ecosystem: eco, Name: name})
		}
	}
	return out
}
