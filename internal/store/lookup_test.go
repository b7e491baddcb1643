package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// lookupFixture mirrors four partitions whose key ranges overlap in the
// ways the partition-ranged lookups must get right: one record in two
// partitions ("Debian" and "Debian:12", the newer version wins), a
// withdrawn newest version (the older live one is returned), IDs and
// aliases across partitions, and keys outside every partition's range.
func lookupFixture(t *testing.T, s *Store) {
	t.Helper()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	rec := func(id string, mod time.Time, eco string, aliases []string, names ...string) Record {
		r := Record{ID: id, Modified: mod, Aliases: aliases, Data: fmt.Appendf(nil, `{"id":%q,"modified":%q}`, id, mod.Format(time.RFC3339))}
		for _, n := range names {
			r.Packages = append(r.Packages, PackageKey{Ecosystem: eco, Name: n})
		}
		return r
	}
	withdrawn := func(r Record) Record { r.Withdrawn = true; return r }
	importAll(t, s, "PyPI", rec("GHSA-aaaa", t0, "PyPI", []string{"CVE-2024-1", "PYSEC-1"}, "requests"),
		rec("PYSEC-1", t0, "PyPI", []string{"CVE-2024-1", "GHSA-aaaa"}, "requests", "urllib3"),
		withdrawn(rec("PYSEC-2", t0, "PyPI", []string{"CVE-2024-2"}, "requests")))
	importAll(t, s, "Debian", rec("DSA-1", t0, "Debian", []string{"CVE-2024-3"}, "openssl"),
		withdrawn(rec("DSA-2", t1, "Debian", []string{"CVE-2024-4"}, "openssl")))
	importAll(t, s, "Debian:12", rec("DSA-1", t1, "Debian", []string{"CVE-2024-3"}, "openssl", "curl"),
		rec("DSA-2", t0, "Debian", []string{"CVE-2024-4"}, "openssl"))
	importAll(t, s, "Go", rec("GO-2024-1", t0, "Go", []string{"CVE-2024-1"}, "example.com/m"))
}

func describe(advs []Advisory) string {
	var b strings.Builder
	for _, a := range advs {
		fmt.Fprintf(&b, "%s@%s/%s %s %q;", a.ID, a.Partition, a.Source, a.Modified.Format(time.RFC3339), a.Data)
	}
	return b.String()
}

func describeByName(m map[string][]Advisory) string {
	var b strings.Builder
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&b, "%s: %s\n", name, describe(m[name]))
	}
	return b.String()
}

func TestPartitionRangedLookups(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		lookupFixture(t, s)
		want := map[string]string{
			"PyPI": `requests: GHSA-aaaa@PyPI/OSV 2024-01-01T00:00:00Z "{\"id\":\"GHSA-aaaa\",\"modified\":\"2024-01-01T00:00:00Z\"}";PYSEC-1@PyPI/OSV 2024-01-01T00:00:00Z "{\"id\":\"PYSEC-1\",\"modified\":\"2024-01-01T00:00:00Z\"}";
urllib3: PYSEC-1@PyPI/OSV 2024-01-01T00:00:00Z "{\"id\":\"PYSEC-1\",\"modified\":\"2024-01-01T00:00:00Z\"}";
`,
			"Debian": `curl: DSA-1@Debian:12/OSV 2024-01-01T01:00:00Z "{\"id\":\"DSA-1\",\"modified\":\"2024-01-01T01:00:00Z\"}";
openssl: DSA-1@Debian:12/OSV 2024-01-01T01:00:00Z "{\"id\":\"DSA-1\",\"modified\":\"2024-01-01T01:00:00Z\"}";DSA-2@Debian:12/OSV 2024-01-01T00:00:00Z "{\"id\":\"DSA-2\",\"modified\":\"2024-01-01T00:00:00Z\"}";
`,
			"Go": `example.com/m: GO-2024-1@Go/OSV 2024-01-01T00:00:00Z "{\"id\":\"GO-2024-1\",\"modified\":\"2024-01-01T00:00:00Z\"}";
`,
			"npm": ``,
		}
		names := []string{"requests", "urllib3", "openssl", "curl", "example.com/m", "absent", "", "zzz"}
		for eco, w := range want {
			got, err := s.AdvisoriesForNames(ctx, eco, names)
			if err != nil {
				t.Fatal(err)
			}
			if d := describeByName(got); d != w {
				t.Errorf("%s:\n got %s\nwant %s", eco, d, w)
			}
			// The statement across all partitions answers the same.
			across := map[string][]Advisory{}
			if err := s.forNamesAcross(ctx, eco, uniqueSorted(names), &collector{out: across, docs: map[string][]byte{}, inflate: true}); err != nil {
				t.Fatal(err)
			}
			// As stored, the same records whose documents inflate to the
			// same bytes.
			deflated, err := s.AdvisoriesForNamesDeflated(ctx, eco, names)
			if err != nil {
				t.Fatal(err)
			}
			for name, l := range deflated {
				for i := range l {
					if l[i].Data, err = Inflate(l[i].Data); err != nil {
						t.Fatal(err)
					}
				}
				if !slices.EqualFunc(l, got[name], func(a, b Advisory) bool {
					return a.ID == b.ID && a.Partition == b.Partition && a.Source == b.Source && a.Modified.Equal(b.Modified) && bytes.Equal(a.Data, b.Data)
				}) {
					t.Errorf("%s %s: deflated lookup differs", eco, name)
				}
			}
			if len(deflated) != len(got) {
				t.Errorf("%s: deflated lookup has %d names, want %d", eco, len(deflated), len(got))
			}
			for _, l := range across {
				slices.SortFunc(l, func(a, b Advisory) int { return strings.Compare(a.ID, b.ID) })
			}
			if d := describeByName(across); d != w {
				t.Errorf("%s across partitions:\n got %s\nwant %s", eco, d, w)
			}
		}

		lookup := []string{"CVE-2024-1", "CVE-2024-3", "CVE-2024-4", "DSA-2", "GHSA-aaaa", "PYSEC-2", "AAA-0", "ZZZ-9", "CVE-2024-1"}
		const wantIDs = `DSA-1@Debian:12/OSV 2024-01-01T01:00:00Z "{\"id\":\"DSA-1\",\"modified\":\"2024-01-01T01:00:00Z\"}";` +
			`DSA-2@Debian:12/OSV 2024-01-01T00:00:00Z "{\"id\":\"DSA-2\",\"modified\":\"2024-01-01T00:00:00Z\"}";` +
			`GHSA-aaaa@PyPI/OSV 2024-01-01T00:00:00Z "{\"id\":\"GHSA-aaaa\",\"modified\":\"2024-01-01T00:00:00Z\"}";` +
			`GO-2024-1@Go/OSV 2024-01-01T00:00:00Z "{\"id\":\"GO-2024-1\",\"modified\":\"2024-01-01T00:00:00Z\"}";` +
			`PYSEC-1@PyPI/OSV 2024-01-01T00:00:00Z "{\"id\":\"PYSEC-1\",\"modified\":\"2024-01-01T00:00:00Z\"}";`
		got, err := s.AdvisoriesByIDs(ctx, lookup, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := describe(got); d != wantIDs {
			t.Errorf("by IDs:\n got %s\nwant %s", d, wantIDs)
		}
		across, err := s.byIDsAcross(ctx, uniqueSorted(lookup), nil, true)
		if err != nil {
			t.Fatal(err)
		}
		if d := describe(across); d != wantIDs {
			t.Errorf("by IDs across partitions:\n got %s\nwant %s", d, wantIDs)
		}
		// As stored: the same records, documents inflating to the same
		// bytes, on both paths.
		for _, deflated := range [][]Advisory{
			must(s.AdvisoriesByIDsDeflated(ctx, lookup, nil)),
			must(s.byIDsAcross(ctx, uniqueSorted(lookup), nil, false)),
		} {
			for i := range deflated {
				if deflated[i].Data, err = Inflate(deflated[i].Data); err != nil {
					t.Fatal(err)
				}
			}
			if d := describe(deflated); d != wantIDs {
				t.Errorf("by IDs as stored:\n got %s\nwant %s", d, wantIDs)
			}
		}
		// Records the caller holds come without their documents.
		have := func(part, id string) bool { return part == "Debian:12" && id == "DSA-1" || id == "PYSEC-1" }
		got, err = s.AdvisoriesByIDs(ctx, lookup, have)
		if err != nil {
			t.Fatal(err)
		}
		var without []string
		for _, a := range got {
			if a.Data == nil {
				without = append(without, a.Partition+"/"+a.ID)
			}
		}
		if len(got) != 5 || !slices.Equal(without, []string{"Debian:12/DSA-1", "PyPI/PYSEC-1"}) {
			t.Errorf("with have: %d records, without data %v", len(got), without)
		}
		// IDs at the ends of partitions' ranges, reached by no alias.
		got, err = s.AdvisoriesByIDs(ctx, []string{"GO-2024-1", "DSA-2", "DSA-1"}, nil)
		if d, w := describe(got), wantIDs[:strings.Index(wantIDs, "GHSA")]+wantIDs[strings.Index(wantIDs, "GO-"):strings.Index(wantIDs, "PYSEC")]; err != nil || d != w {
			t.Errorf("range ends:\n got %s\nwant %s (%v)", d, w, err)
		}
		if got, err := s.AdvisoriesByIDs(ctx, []string{"NOPE-1"}, nil); err != nil || len(got) != 0 {
			t.Errorf("unknown ID: %v %v", describe(got), err)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestOwnIDsScanAgreesWithProbes: ownIDs reading a partition's ID range
// (few records, many IDs asked) answers what its IN-list probes answer,
// and byIDs over such a partition finds every record.
func TestOwnIDsScanAgreesWithProbes(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []Record
	for i := 0; i < 60; i += 3 {
		id := fmt.Sprintf("GHSA-%03d", i)
		recs = append(recs, Record{ID: id, Modified: t0, Data: fmt.Appendf(nil, `{"id":%q}`, id),
			Packages: []PackageKey{{Ecosystem: "Maven", Name: "g:a"}}})
	}
	importAll(t, s, "Maven", recs...)
	tx, err := s.readSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	parts, err := liveParts(ctx, tx)
	if err != nil || len(parts) != 1 {
		t.Fatal(parts, err)
	}
	own := chunkStmts{db: tx, size: idChunk}
	defer own.close()
	for _, asked := range [][]string{
		{"GHSA-000"}, {"GHSA-001"}, {"GHSA-057"}, {"GHSA-000", "GHSA-057"},
		{"GHSA-001", "GHSA-003", "GHSA-004", "GHSA-0045", "GHSA-006", "GHSA-030", "GHSA-031", "GHSA-057"},
	} {
		var all []string
		for i := range 60 {
			all = append(all, fmt.Sprintf("GHSA-%03d", i))
		}
		for _, ids := range [][]string{asked, uniqueSorted(all)} {
			scan, probe := parts[0], parts[0]
			scan.records, probe.records = 0, 1<<30 // ownIDs' choice
			a, err := ownIDs(ctx, tx, &own, scan, ids)
			if err != nil {
				t.Fatal(err)
			}
			b, err := ownIDs(ctx, tx, &own, probe, ids)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(b)
			var want []string
			for _, id := range ids {
				var n int
				fmt.Sscanf(id, "GHSA-%d", &n)
				if len(id) == len("GHSA-000") && n%3 == 0 {
					want = append(want, id)
				}
			}
			if !slices.Equal(a, want) || !slices.Equal(b, want) {
				t.Errorf("asked %v: scan %v, probes %v, want %v", ids, a, b, want)
			}
		}
	}
	// 60 IDs asked of a partition of 20 records: byIDs reads its range.
	var ids []string
	for i := range 60 {
		ids = append(ids, fmt.Sprintf("GHSA-%03d", i))
	}
	got, err := s.AdvisoriesByIDs(ctx, ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 20 || got[0].ID != "GHSA-000" || got[19].ID != "GHSA-057" || string(got[19].Data) != `{"id":"GHSA-057"}` {
		t.Errorf("byIDs: %s", describe(got))
	}
}
