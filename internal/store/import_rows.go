package store

import (
	"context"
	"database/sql"
	"errors"
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

func insertRecords(ctx context.Context, s *Store, tx *sql.Tx, part string, gen int64, recs []Record) error {
	adv, pkg, alias := recordRows(part, gen, recs)
	if err := insertMany(ctx, s, tx, "advisory", []string{"part", "generation", "id", "modified", "withdrawn", "data", "pkgs"}, adv); err != nil {
		return err
	}
	if err := insertMany(ctx, s, tx, "advisory_package", []string{"part", "generation", "ecosystem", "name", "id"}, pkg); err != nil {
		return err
	}
	return insertMany(ctx, s, tx, "advisory_alias", []string{"alias", "part", "generation", "id"}, alias)
}

// recordRows renders records as rows of advisory, advisory_package and
// advisory_alias.
func recordRows(part string, gen int64, recs []Record) (adv, pkg, alias [][]any) {
	adv = make([][]any, 0, len(recs))
	for _, r := range recs {
		wd := 0
		if r.Withdrawn {
			wd = 1
		}
		data := r.Deflated
		if data == nil {
			data = Deflate(r.Data)
		}
		adv = append(adv, []any{part, gen, r.ID, fmtTime(r.Modified), wd, data, encodeKeys(r.Packages)})
		for _, k := range r.Packages {
			pkg = append(pkg, []any{part, gen, k.Ecosystem, k.Name, r.ID})
		}
		for i, a := range r.Aliases {
			if a != r.ID && !slices.Contains(r.Aliases[:i], a) {
				alias = append(alias, []any{a, part, gen, r.ID})
			}
		}
	}
	return adv, pkg, alias
}

// deletedRecords is what deleteRecords removed: how many records, how many
// of them withdrawn, and their package keys.
type deletedRecords struct {
	records, withdrawn int
	keys               []PackageKey
}

// deleteRecords deletes the records ids (each at most once) of a generation
// with their index rows and reports what was there.
func deleteRecords(ctx context.Context, s *Store, tx *sql.Tx, part string, gen int64, ids []string) (deletedRecords, error) {
	var out deletedRecords
	// Index rows are found by primary key from the keys the record keeps.
	sel, err := tx.PrepareContext(ctx, s.Rebind(`SELECT pkgs, withdrawn FROM advisory WHERE part = ? AND generation = ? AND id = ?`))
	if err != nil {
		return out, err
	}
	defer sel.Close()
	delPkg, err := tx.PrepareContext(ctx, s.Rebind(`DELETE FROM advisory_package WHERE part = ? AND generation = ? AND ecosystem = ? AND name = ? AND id = ?`))
	if err != nil {
		return out, err
	}
	defer delPkg.Close()
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		var pkgs string
		var withdrawn int
		if err := sel.QueryRowContext(ctx, part, gen, id).Scan(&pkgs, &withdrawn); errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return out, err
		}
		out.records++
		if withdrawn != 0 {
			out.withdrawn++
		}
		keys := decodeKeys(pkgs)
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
