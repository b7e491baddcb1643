package match

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vulngate/vulngate/internal/osv"
)

func recordIDs(f Finding) []string {
	var ids []string
	for _, r := range f.Records {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestMergeCorpus(t *testing.T) {
	pysec := load(t, "PYSEC-2022-48")            // aliases CVE-2021-22570, GHSA-77rm-9x9h-xj3g
	ghsa := load(t, "GHSA-77rm-9x9h-xj3g")       // aliases CVE-2021-22570, PYSEC-2022-48
	f256 := load(t, "GHSA-f256-j965-7f32")       // netty, fixed 4.1.61.Final
	wm47 := load(t, "GHSA-wm47-8v5p-wjpj")       // netty, fixed 4.1.60.Final; aliases each other
	bitzk := load(t, "BIT-zookeeper-2021-21295") // aliases CVE-2021-21295 only
	gov := load(t, "GO-2022-0247")               // unrelated

	hits := []Hit{
		{Vuln: pysec, Source: "OSV", Fixed: []string{"3.15.0"}},
		{Vuln: gov, Source: "OSV", Fixed: []string{"1.17.2"}},
		{Vuln: wm47, Source: "OSV", Fixed: []string{"4.1.60.Final"}},
		{Vuln: ghsa, Source: "OSSINDEX", Fixed: []string{"3.15.0"}},
		{Vuln: f256, Source: "OSV", Fixed: []string{"4.1.61.Final"}},
		{Vuln: bitzk, Source: "OSV"},
		{Vuln: pysec, Source: "OSSINDEX", Fixed: []string{"3.15.0"}}, // same record, second source
		{Vuln: nil, Source: "OSV"},                                   // ignored
	}
	got := Merge(hits)
	if len(got) != 3 {
		t.Fatalf("got %d findings, want 3: %+v", len(got), got)
	}
	type summary struct {
		ID      string
		IDs     []string
		Records []string
		Fixed   []string
		Sources []string
	}
	var sums []summary
	for _, f := range got {
		sums = append(sums, summary{f.ID, f.IDs, recordIDs(f), f.Fixed, f.Sources})
	}
	want := []summary{
		{
			// The representative is what users search for: the group's
			// CVE (smallest first when the group has two), though no record
			// carries it as its own ID.
			ID:      "CVE-2021-21295",
			IDs:     []string{"BIT-zookeeper-2021-21295", "CVE-2021-21295", "CVE-2021-21409", "GHSA-f256-j965-7f32", "GHSA-wm47-8v5p-wjpj"},
			Records: []string{"GHSA-f256-j965-7f32", "GHSA-wm47-8v5p-wjpj", "BIT-zookeeper-2021-21295"},
			Fixed:   []string{"4.1.60.Final", "4.1.61.Final"},
			Sources: []string{"OSV"},
		},
		{
			ID:      "CVE-2021-22570",
			IDs:     []string{"CVE-2021-22570", "GHSA-77rm-9x9h-xj3g", "PYSEC-2022-48"},
			Records: []string{"GHSA-77rm-9x9h-xj3g", "PYSEC-2022-48"},
			Fixed:   []string{"3.15.0"},
			Sources: []string{"OSSINDEX", "OSV"},
		},
		{
			ID:      "CVE-2021-38297",
			IDs:     []string{"CVE-2021-38297", "GO-2022-0247"},
			Records: []string{"GO-2022-0247"},
			Fixed:   []string{"1.17.2"},
			Sources: []string{"OSV"},
		},
	}
	if diff := cmp.Diff(want, sums); diff != "" {
		t.Errorf("Merge mismatch (-want +got):\n%s", diff)
	}
	if got[1].Records[1] != pysec {
		t.Error("Records do not hold the input records")
	}
}

func TestMergeTransitive(t *testing.T) {
	// Constructed records: A and C share nothing; B links them.
	a := &osv.Vulnerability{ID: "PYSEC-0000-1", Aliases: []string{"CVE-0000-1"}}
	c := &osv.Vulnerability{ID: "GO-0000-3", Aliases: []string{"CVE-0000-2"}}
	b := &osv.Vulnerability{ID: "GHSA-bbbb-bbbb-bbbb", Aliases: []string{"CVE-0000-2", "PYSEC-0000-1"}}
	d := &osv.Vulnerability{ID: "CVE-0000-9", Aliases: []string{"GHSA-dddd-dddd-dddd"}}
	got := Merge([]Hit{{Vuln: a}, {Vuln: c}, {Vuln: d}, {Vuln: b}})
	if len(got) != 2 {
		t.Fatalf("got %d findings, want 2: %+v", len(got), got)
	}
	// A CVE is preferred as representative, a record's own or an alias.
	if got[0].ID != "CVE-0000-1" || got[1].ID != "CVE-0000-9" {
		t.Errorf("representatives %q, %q", got[0].ID, got[1].ID)
	}
	if want := []string{"GHSA-bbbb-bbbb-bbbb", "GO-0000-3", "PYSEC-0000-1"}; !slices.Equal(recordIDs(got[0]), want) {
		t.Errorf("records %q, want %q", recordIDs(got[0]), want)
	}
	if want := []string{"CVE-0000-1", "CVE-0000-2", "GHSA-bbbb-bbbb-bbbb", "GO-0000-3", "PYSEC-0000-1"}; !slices.Equal(got[0].IDs, want) {
		t.Errorf("IDs %q, want %q", got[0].IDs, want)
	}
	if got[1].Fixed != nil || got[1].Sources != nil {
		t.Errorf("empty Fixed/Sources not nil: %+v", got[1])
	}
}

func TestMergeOrderIndependent(t *testing.T) {
	var hits []Hit
	for _, name := range []string{"PYSEC-2022-48", "GHSA-77rm-9x9h-xj3g", "GHSA-f256-j965-7f32", "GHSA-wm47-8v5p-wjpj", "BIT-zookeeper-2021-21295", "GO-2022-0247", "RUSTSEC-2018-0003", "GHSA-2rvv-w9r2-rg7m"} {
		hits = append(hits, Hit{Vuln: load(t, name), Source: "OSV", Fixed: []string{name[:4]}})
	}
	want := Merge(slices.Clone(hits))
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		r.Shuffle(len(hits), func(i, j int) { hits[i], hits[j] = hits[j], hits[i] })
		if diff := cmp.Diff(want, Merge(slices.Clone(hits))); diff != "" {
			t.Fatalf("Merge depends on input order (-first +shuffled):\n%s", diff)
		}
	}
	// GHSA-2rvv-w9r2-rg7m aliases BIT-tomcat-2021-24122 and CVE-2021-24122,
	// which no other record carries: it stays alone.
	if len(want) != 5 {
		t.Errorf("got %d findings, want 5", len(want))
	}
}

func TestMergeEmpty(t *testing.T) {
	if got := Merge(nil); len(got) != 0 {
		t.Errorf("Merge(nil) = %+v", got)
	}
	if got := Merge([]Hit{{Source: "OSV"}}); len(got) != 0 {
		t.Errorf("Merge of a nil record = %+v", got)
	}
}

func TestCompareIDs(t *testing.T) {
	sorted := []string{
		"CVE-2021-9999", "CVE-2021-10000", "CVE-2022-1",
		"GHSA-77rm-9x9h-xj3g", "GHSA-f256-j965-7f32",
		"BIT-tomcat-2021-24122", "GO-2022-0247", "GO-2022-247", "PYSEC-2022-48", "RUSTSEC-2018-0003",
	}
	for i := range sorted {
		for j := range sorted {
			got := CompareIDs(sorted[i], sorted[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("CompareIDs(%q, %q) = %d, want %d", sorted[i], sorted[j], got, want)
			}
		}
	}
}

func TestCompareNatural(t *testing.T) {
	sorted := []string{"", "1.9.0", "1.10.0", "1.10.0-rc1", "3.15.0", "4.1.60.Final", "4.1.61.Final", "10", "a", "a01", "a1", "a2", "b"}
	for i := range sorted {
		for j := range sorted {
			got := compareNatural(sorted[i], sorted[j])
			if (got < 0) != (i < j) || (got == 0) != (i == j) {
				t.Errorf("compareNatural(%q, %q) = %d", sorted[i], sorted[j], got)
			}
		}
	}
}
