package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"
)

// The rows of mirrored records as imports and deltas write and delete them:
// one advisory row, its package keys and its aliases per record.

func upsertPartition(ctx context.Context, s *Store, tx *sql.Tx, st PartitionState) error {
	_, err := tx.ExecContext(ctx, s.Rebind(`
INSERT INTO partition_state (name, source, generation, base_url, last_sync, watermark, records, withdrawn, malformed)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET source = excluded.source, generation = excluded.generation,
  base_url = excluded.base_url, last_sync = excluded.last_sync, watermark = excluded.watermark,
  records = excluded.records, withdrawn = excluded.withdrawn, malformed = excluded.malformed`),
		st.Name, st.Source, st.Generation, st.BaseURL, fmtTime(st.LastSync), fmtTime(st.Watermark), st.Records, st.Withdrawn, st.Malformed)
	return err
}

// writeRecords writes recs as rows of generation gen of part and returns
// how many advisory rows it inserted (a record whose ID is already in the
// generation is not). Every row of a generation repeats its partition and
// generation, and the package rows of a partition mostly one ecosystem:
// the INSERT statements bind those once and each row only its own values.
// (On SQLite the driver copies every bound value into C memory; binding
// was a fifth of an import writer's time and half of the ~23 parameters
// per record were the shared ones: writer CPU per corpus record 24-25 ->
// 21-22 µs, BenchmarkWriteCorpus in osvmirror.)
func writeRecords(ctx context.Context, s *Store, tx *sql.Tx, part string, gen int64, recs []Record) (int64, error) {
	adv := make([]any, 0, 5*len(recs))
	pkgs := map[string][]any{} // by ecosystem: name, id per row
	var alias []any
	eachRecordRow(recs, func(r *Record, wd int, data []byte) {
		adv = append(adv, r.ID, fmtTime(r.Modified), wd, data, encodeKeys(r.Packages))
	}, func(r *Record, k PackageKey) {
		pkgs[k.Ecosystem] = append(pkgs[k.Ecosystem], k.Name, r.ID)
	}, func(r *Record, a string) {
		alias = append(alias, a, r.ID)
	})
	partGen, shared := []string{"part", "generation"}, []any{part, gen}
	inserted, err := insertSharedAs(ctx, s.dialect, tx, true, "advisory", partGen, shared, []string{"id", "modified", "withdrawn", "data", "pkgs"}, adv)
	if err != nil {
		return inserted, err
	}
	ecos := make([]string, 0, len(pkgs))
	for eco := range pkgs {
		ecos = append(ecos, eco)
	}
	slices.Sort(ecos)
	for _, eco := range ecos {
		if _, err := insertSharedAs(ctx, s.dialect, tx, true, "advisory_package", []string{"part", "generation", "ecosystem"}, []any{part, gen, eco}, []string{"name", "id"}, pkgs[eco]); err != nil {
			return inserted, err
		}
	}
	_, err = insertSharedAs(ctx, s.dialect, tx, true, "advisory_alias", partGen, shared, []string{"alias", "id"}, alias)
	return inserted, err
}

// eachRecordRow calls adv for each record (with its withdrawn flag and deflated
// document), pkg for each of its package keys and alias for each of its
// distinct aliases other than its ID.
func eachRecordRow(recs []Record, adv func(r *Record, wd int, data []byte), pkg func(r *Record, k PackageKey), alias func(r *Record, a string)) {
	for i := range recs {
		r := &recs[i]
		wd := 0
		if r.Withdrawn {
			wd = 1
		}
		data := r.Deflated
		if data == nil {
			data = Deflate(r.Data)
		}
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
