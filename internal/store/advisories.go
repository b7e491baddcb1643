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

// PackageKey is one index entry: an OSV base ecosystem ("Debian", not
// "Debian:12") and a package name normalized for that ecosystem.
type PackageKey struct {
	Ecosystem string
	Name      string
}

// Record is one advisory as the store keeps it.
type Record struct {
	ID        string
	Modified  time.Time
	Withdrawn bool
	Aliases   []string
	Packages  []PackageKey
	Data      []byte // the OSV JSON document
	// Deflated, when set, is Data already compressed with raw DEFLATE
	// (e.g. copied from a zip entry); Data may then be nil.
	Deflated []byte
}

// PartitionState is what the store remembers about one mirrored partition.
type PartitionState struct {
	Name       string
	Source     string
	Generation int64
	BaseURL    string
	LastSync   time.Time
	Watermark  time.Time // newest "modified" seen upstream at the last sync
	Records    int
	Withdrawn  int
	Malformed  int
	// Sketch, when set, is the sketch of the IDs the partition stored
	// before a delta, given to ApplyDelta for a partition that keeps
	// none (read with IDSketch).
	Sketch *IDSketch
}

// Advisory is a stored advisory returned by lookups.
type Advisory struct {
	Partition string
	Source    string
	ID        string
	Modified  time.Time
	Withdrawn bool
	Data      []byte
}

// ErrNoPartition is returned for a partition the store has never synced.
var ErrNoPartition = errors.New("partition not mirrored")

const tsLayout = time.RFC3339Nano

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(tsLayout)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(tsLayout, s)
	return t
}

// Partition returns the state of one partition.
func (s *Store) Partition(ctx context.Context, name string) (PartitionState, error) {
	row := s.db.QueryRowContext(ctx, s.Rebind(`SELECT name, source, generation, base_url, last_sync, watermark, records, withdrawn, malformed FROM partition_state WHERE name = ?`), name)
	st, err := scanPartition(row)
	if errors.Is(err, sql.ErrNoRows) {
		return PartitionState{}, fmt.Errorf("%s: %w", name, ErrNoPartition)
	}
	return st, err
}

// Partitions lists every partition the store holds.
func (s *Store) Partitions(ctx context.Context) ([]PartitionState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, source, generation, base_url, last_sync, watermark, records, withdrawn, malformed FROM partition_state ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PartitionState
	for rows.Next() {
		st, err := scanPartition(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(...any) error }

func scanPartition(r scanner) (PartitionState, error) {
	var st PartitionState
	var last, wm string
	err := r.Scan(&st.Name, &st.Source, &st.Generation, &st.BaseURL, &last, &wm, &st.Records, &st.Withdrawn, &st.Malformed)
	st.LastSync, st.Watermark = parseTime(last), parseTime(wm)
	return st, err
}

// RecordVersions returns id -> modified for the partition's live records.
func (s *Store) RecordVersions(ctx context.Context, part string) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT a.id, a.modified FROM advisory a JOIN partition_state p ON p.name = a.part AND p.generation = a.generation WHERE a.part = ?`), part)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id, mod string
		if err := rows.Scan(&id, &mod); err != nil {
			return nil, err
		}
		out[id] = parseTime(mod)
	}
	return out, rows.Err()
}

// IDSketch returns the sketch of the IDs of the partition's live records
// (IDSketch); nil when the partition keeps none or does not exist.
func (s *Store) IDSketch(ctx context.Context, part string) (*IDSketch, error) {
	var b []byte
	err := s.db.QueryRowContext(ctx, s.Rebind(`SELECT id_sketch FROM partition_state WHERE name = ?`), part).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return decodeSketch(b), err
}

// RecordIDs returns the IDs of the partition's live records, in no
// particular order. It reads only the (part, generation, id) index.
func (s *Store) RecordIDs(ctx context.Context, part string) ([]string, error) {
	var gen int64
	err := s.db.QueryRowContext(ctx, s.Rebind(`SELECT generation FROM partition_state WHERE name = ?`), part).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return generationIDs(ctx, s, s.db, part, gen)
}

// generationIDs returns the IDs of generation gen of part, in no
// particular order.
func generationIDs(ctx context.Context, s *Store, q queryer, part string, gen int64) ([]string, error) {
	// One row holding every ID (a row per ID costs more in the driver than
	// in the database); an ID holding the separator falls back to a row
	// per ID.
	agg := `SELECT COUNT(*), COALESCE(group_concat(id, char(10)), '') FROM advisory WHERE part = ? AND generation = ?`
	if s.dialect == Postgres {
		agg = `SELECT COUNT(*), COALESCE(string_agg(id, chr(10)), '') FROM advisory WHERE part = ? AND generation = ?`
	}
	var count int
	var all string
	if err := q.QueryRowContext(ctx, s.Rebind(agg), part, gen).Scan(&count, &all); err != nil {
		return nil, err
	}
	if count == 0 {
		return nil, nil
	}
	out := make([]string, 0, count)
	if strings.Count(all, "\n")+1 == count {
		for id := range strings.SplitSeq(all, "\n") {
			out = append(out, id)
		}
		return out, nil
	}
	rows, err := q.QueryContext(ctx, s.Rebind(`SELECT id FROM advisory WHERE part = ? AND generation = ?`), part, gen)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func uniqueSorted(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}

// AdvisoriesByID returns the live advisories whose ID or alias is id,
// withdrawn ones included, one per ID.
func (s *Store) AdvisoriesByID(ctx context.Context, id string) ([]Advisory, error) {
	rows, err := s.db.QueryContext(ctx, s.Rebind(`
SELECT a.part, p.source, a.id, a.modified, a.withdrawn, a.data
FROM advisory a JOIN partition_state p ON p.name = a.part AND p.generation = a.generation
WHERE a.id = ?
UNION
SELECT a.part, p.source, a.id, a.modified, a.withdrawn, a.data
FROM advisory_alias x
JOIN partition_state p ON p.name = x.part AND p.generation = x.generation
JOIN advisory a ON a.part = x.part AND a.generation = x.generation AND a.id = x.id
WHERE x.alias = ?
ORDER BY 3, 4 DESC`), id, id)
	if err != nil {
		return nil, err
	}
	return collectAdvisories(rows)
}

func collectAdvisories(rows *sql.Rows) ([]Advisory, error) {
	defer rows.Close()
	var out []Advisory
	for rows.Next() {
		var a Advisory
		var mod string
		var wd int
		if err := rows.Scan(&a.Partition, &a.Source, &a.ID, &mod, &wd, &a.Data); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].ID == a.ID {
			continue // same record mirrored in two partitions: keep the newest
		}
		a.Modified, a.Withdrawn = parseTime(mod), wd != 0
		data, err := Inflate(a.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.ID, err)
		}
		a.Data = data
		out = append(out, a)
	}
	return out, rows.Err()
}

// CountAdvisories returns the number of live advisories (withdrawn included).
func (s *Store) CountAdvisories(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM advisory a JOIN partition_state p ON p.name = a.part AND p.generation = a.generation`).Scan(&n)
	return n, err
}

// EachRecordOf calls fn with each live record of a partition among ids,
// inflated, in no particular order; IDs the partition does not hold are
// skipped. It looks the records up by ID, recordsOfBatch to a query: for
// a few records of a large partition, where EachRecord reads every row
// (300,000 rows: 0.64 s to find none wanted).
func (s *Store) EachRecordOf(ctx context.Context, part string, ids []string, fn func(id string, data []byte) error) error {
	for chunk := range slices.Chunk(ids, recordsOfBatch) {
		cond, args := inCond("a.id", chunk)
		rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT a.id, a.modified, a.data FROM advisory a JOIN partition_state p ON p.name = a.part AND p.generation = a.generation WHERE a.part = ? AND `+cond),
			append([]any{part}, args...)...)
		if err != nil {
			return err
		}
		err = eachInflated(rows, nil, fn)
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// recordsOfBatch bounds the IDs of one of EachRecordOf's queries.
const recordsOfBatch = 500

// eachInflated calls fn with the ID and inflated document of each row (id,
// modified, data) that want (when not nil) keeps.
func eachInflated(rows *sql.Rows, want func(id string, modified time.Time) bool, fn func(id string, data []byte) error) error {
	for rows.Next() {
		var id, mod string
		var data []byte
		if err := rows.Scan(&id, &mod, &data); err != nil {
			return err
		}
		if want != nil && !want(id, parseTime(mod)) {
			continue
		}
		raw, err := Inflate(data)
		if err != nil {
			return err
		}
		if err := fn(id, raw); err != nil {
			return err
		}
	}
	return rows.Err()
}
