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

// RecordIDs returns the IDs of the partition's live records. It reads only
// the (part, generation, id) index.
func (s *Store) RecordIDs(ctx context.Context, part string) (map[string]struct{}, error) {
	out := map[string]struct{}{}
	var gen int64
	err := s.db.QueryRowContext(ctx, s.Rebind(`SELECT generation FROM partition_state WHERE name = ?`), part).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT id FROM advisory WHERE part = ? AND generation = ?`), part, gen)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = struct{}{}
	}
	return out, rows.Err()
}

// AdvisoriesFor returns the live, non-withdrawn advisories that index the
// package (base ecosystem, normalized name), one per ID across partitions.
func (s *Store) AdvisoriesFor(ctx context.Context, ecosystem, name string) ([]Advisory, error) {
	m, err := s.AdvisoriesForNames(ctx, ecosystem, []string{name})
	return m[name], err
}

// lookupChunk is how many names one lookup statement asks for; a full
// chunk's statement is prepared once per call.
const lookupChunk = 256

// AdvisoriesForNames returns, for each of names (normalized package names
// of one base ecosystem), the live, non-withdrawn advisories that index it,
// one per ID across partitions. Names without advisories are absent from
// the map. It asks with a few IN-list statements rather than one per
// name, and inflates each record once: advisories of several names share
// their Data, which callers must not modify.
func (s *Store) AdvisoriesForNames(ctx context.Context, ecosystem string, names []string) (map[string][]Advisory, error) {
	out := map[string][]Advisory{}
	names = uniqueSorted(names)
	if len(names) == 0 {
		return out, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	inflated := map[string][]byte{} // part + "\x00" + id + "\x00" + modified
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for len(names) > 0 {
		n := min(lookupChunk, len(names))
		args := make([]any, 0, n+1)
		args = append(args, ecosystem)
		for _, name := range names[:n] {
			args = append(args, name)
		}
		q := s.Rebind(`
SELECT k.name, a.part, p.source, a.id, a.modified, a.data
FROM partition_state p
CROSS JOIN advisory_package k
JOIN advisory a ON a.part = k.part AND a.generation = k.generation AND a.id = k.id
WHERE k.part = p.name AND k.generation = p.generation AND k.ecosystem = ? AND k.name IN (?` + strings.Repeat(", ?", n-1) + `) AND a.withdrawn = 0`)
		var rows *sql.Rows
		if n == lookupChunk {
			if full == nil {
				if full, err = conn.PrepareContext(ctx, q); err != nil {
					return nil, err
				}
			}
			rows, err = full.QueryContext(ctx, args...)
		} else {
			rows, err = conn.QueryContext(ctx, q, args...)
		}
		if err != nil {
			return nil, err
		}
		if err := collectByName(rows, out, inflated); err != nil {
			return nil, err
		}
		names = names[n:]
	}
	for _, list := range out {
		slices.SortFunc(list, func(a, b Advisory) int { return strings.Compare(a.ID, b.ID) })
	}
	return out, nil
}

// collectByName adds rows to out. A record mirrored in two partitions
// (e.g. "Debian" and "Debian:12") is kept once, in its newest version.
// Rows come unsorted: sorting them in the engine would carry their
// documents through a temporary sorter.
func collectByName(rows *sql.Rows, out map[string][]Advisory, inflated map[string][]byte) error {
	defer rows.Close()
	var raw sql.RawBytes
	for rows.Next() {
		var a Advisory
		var name, mod string
		if err := rows.Scan(&name, &a.Partition, &a.Source, &a.ID, &mod, &raw); err != nil {
			return err
		}
		a.Modified = parseTime(mod)
		list := out[name]
		dup := slices.IndexFunc(list, func(b Advisory) bool { return b.ID == a.ID })
		if dup >= 0 && !a.Modified.After(list[dup].Modified) {
			continue
		}
		key := a.Partition + "\x00" + a.ID + "\x00" + mod
		data, ok := inflated[key]
		if !ok {
			var err error
			if data, err = Inflate(raw); err != nil {
				return fmt.Errorf("%s: %w", a.ID, err)
			}
			inflated[key] = data
		}
		a.Data = data
		if dup >= 0 {
			list[dup] = a
			continue
		}
		out[name] = append(list, a)
	}
	return rows.Err()
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

// AdvisoriesByIDs returns the live, non-withdrawn advisories whose ID or
// one of whose aliases is among ids, one per ID across partitions (the
// newest). It looks the IDs up in chunks, so any number may be given.
// Records for which have (when not nil) reports true for their partition
// and ID come without Data: the caller holds them already, and inflating
// them again was most of the lookup's cost.
func (s *Store) AdvisoriesByIDs(ctx context.Context, ids []string, have func(part, id string) bool) ([]Advisory, error) {
	const chunk = 400
	seen := map[string]bool{}
	var out []Advisory
	for len(ids) > 0 {
		n := min(chunk, len(ids))
		part := ids[:n]
		ids = ids[n:]
		in := "?" + strings.Repeat(", ?", len(part)-1)
		args := make([]any, 0, 2*len(part))
		for _, id := range part {
			args = append(args, id)
		}
		args = append(args, args...)
		rows, err := s.db.QueryContext(ctx, s.Rebind(`
SELECT a.part, p.source, a.id, a.modified, a.withdrawn, a.data
FROM partition_state p
CROSS JOIN advisory a
WHERE a.part = p.name AND a.generation = p.generation AND a.id IN (`+in+`) AND a.withdrawn = 0
UNION ALL
SELECT a.part, p.source, a.id, a.modified, a.withdrawn, a.data
FROM advisory_alias x
JOIN partition_state p ON p.name = x.part AND p.generation = x.generation
JOIN advisory a ON a.part = x.part AND a.generation = x.generation AND a.id = x.id
WHERE x.alias IN (`+in+`) AND a.withdrawn = 0`), args...)
		if err != nil {
			return nil, err
		}
		got, err := newestByID(rows, have)
		if err != nil {
			return nil, err
		}
		for _, a := range got {
			if !seen[a.ID] {
				seen[a.ID] = true
				out = append(out, a)
			}
		}
	}
	return out, nil
}

// newestByID reads rows of (part, source, id, modified, withdrawn, data)
// in any order, keeps the newest row of each ID (a record reached through
// several aliases, or mirrored in two partitions, comes more than once)
// and returns them by ID, inflating only those (and of those, only the ones
// have does not report). Sorting and de-duplicating in the engine would
// carry every document through a sorter.
func newestByID(rows *sql.Rows, have func(part, id string) bool) ([]Advisory, error) {
	defer rows.Close()
	best := map[string]Advisory{}
	for rows.Next() {
		var a Advisory
		var mod string
		var wd int
		var raw sql.RawBytes
		if err := rows.Scan(&a.Partition, &a.Source, &a.ID, &mod, &wd, &raw); err != nil {
			return nil, err
		}
		a.Modified, a.Withdrawn = parseTime(mod), wd != 0
		if b, ok := best[a.ID]; ok && !a.Modified.After(b.Modified) {
			continue
		}
		a.Data = slices.Clone(raw)
		best[a.ID] = a
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Advisory, 0, len(best))
	for _, a := range best {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Advisory) int { return strings.Compare(a.ID, b.ID) })
	for i := range out {
		if have != nil && have(out[i].Partition, out[i].ID) {
			out[i].Data = nil
			continue
		}
		data, err := Inflate(out[i].Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", out[i].ID, err)
		}
		out[i].Data = data
	}
	return out, nil
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
