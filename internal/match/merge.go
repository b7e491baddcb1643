package match

import (
	"cmp"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/internal/osv"
)

// Hit is one record that affects a component, as found by one source.
type Hit struct {
	Vuln   *osv.Vulnerability
	Source string   // label of the database the record came from, e.g. "OSV"
	Fixed  []string // Result.Fixed of the evaluation
	// Matched is Result.Matched of the evaluation: why the record matched.
	Matched []string
}

// Finding is one vulnerability of one component: the hits whose records
// describe the same vulnerability, merged.
type Finding struct {
	// ID is the representative ID, the one people search for: among all
	// IDs of the group (the merged records' IDs and their aliases), the one
	// that sorts first under CompareIDs, so a CVE when the group has one,
	// else a GHSA, else the smallest other ID. It need not name one of
	// Records (a CVE is usually an alias only).
	ID string
	// IDs holds every record ID and alias of the group, sorted and
	// without duplicates.
	IDs []string
	// Records are the merged records, one per record ID (the first hit
	// wins when several sources return the same ID), ordered by
	// CompareIDs on their IDs.
	Records []*osv.Vulnerability
	// Fixed is the union of the hits' fixed versions, in natural order
	// (runs of digits compare numerically).
	Fixed []string
	// Sources are the source labels of the hits, sorted, without
	// duplicates.
	Sources []string
	// Matched says why each record matched, "ID: reason", in record
	// order; a record from a source that does not say (OSS Index) has
	// no line.
	Matched []string
}

// idClass ranks ID prefixes for the representative ID: CVE IDs are the
// most widely recognised, then GitHub advisory IDs, then all others
// (ecosystem databases such as GO-, PYSEC-, RUSTSEC-).
func idClass(id string) int {
	switch {
	case strings.HasPrefix(id, "CVE-"):
		return 0
	case strings.HasPrefix(id, "GHSA-"):
		return 1
	}
	return 2
}

// CompareIDs orders vulnerability IDs by preference for display: CVE IDs
// first, then GHSA IDs, then all others, and within each class in natural
// order (so CVE-2021-9999 sorts before CVE-2021-10000).
func CompareIDs(a, b string) int {
	if n := cmp.Compare(idClass(a), idClass(b)); n != 0 {
		return n
	}
	return compareNatural(a, b)
}

// Merge groups hits whose records describe the same vulnerability: two
// hits belong together when their sets {ID} ∪ aliases intersect, directly
// or through other hits (the grouping is transitive). Hits without a
// record are ignored. Findings are sorted by representative ID, and the
// output does not depend on the order of hits except for which of
// several records with one ID is kept.
func Merge(hits []Hit) []Finding {
	parent := make([]int, len(hits))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{} // ID or alias -> first hit carrying it
	for i, h := range hits {
		if h.Vuln == nil {
			continue
		}
		for _, id := range h.Vuln.IDs() {
			if id == "" {
				continue
			}
			j, ok := owner[id]
			if !ok {
				owner[id] = i
				continue
			}
			if ri, rj := find(i), find(j); ri != rj {
				parent[max(ri, rj)] = min(ri, rj)
			}
		}
	}

	groups := map[int][]int{}
	var roots []int
	for i, h := range hits {
		if h.Vuln == nil {
			continue
		}
		r := find(i)
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], i)
	}

	out := make([]Finding, 0, len(roots))
	for _, r := range roots {
		var f Finding
		byID := map[string]bool{}
		for _, i := range groups[r] {
			h := hits[i]
			if !byID[h.Vuln.ID] {
				byID[h.Vuln.ID] = true
				f.Records = append(f.Records, h.Vuln)
			}
			f.IDs = append(f.IDs, h.Vuln.IDs()...)
			f.Fixed = append(f.Fixed, h.Fixed...)
			for _, m := range h.Matched {
				f.Matched = append(f.Matched, h.Vuln.ID+": "+m)
			}
			if h.Source != "" {
				f.Sources = append(f.Sources, h.Source)
			}
		}
		slices.SortStableFunc(f.Records, func(a, b *osv.Vulnerability) int { return CompareIDs(a.ID, b.ID) })
		f.IDs = sortedUnique(f.IDs, strings.Compare)
		f.IDs = slices.DeleteFunc(f.IDs, func(s string) bool { return s == "" })
		f.ID = f.Records[0].ID
		if len(f.IDs) > 0 {
			f.ID = slices.MinFunc(f.IDs, CompareIDs)
		}
		f.Fixed = sortedUnique(f.Fixed, compareNatural)
		f.Sources = sortedUnique(f.Sources, strings.Compare)
		f.Matched = slices.Compact(f.Matched)
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Finding) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func sortedUnique(s []string, compare func(a, b string) int) []string {
	if len(s) == 0 {
		return nil
	}
	slices.SortFunc(s, func(a, b string) int {
		if n := compare(a, b); n != 0 {
			return n
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(s)
}

// compareNatural compares strings treating each maximal run of ASCII
// digits as a number, so "1.9.0" < "1.10.0". Ties between numerically
// equal runs ("01" and "1") are broken by plain string order.
func compareNatural(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			na := strings.TrimLeft(a[si:i], "0")
			nb := strings.TrimLeft(b[sj:j], "0")
			if n := cmp.Compare(len(na), len(nb)); n != 0 {
				return n
			}
			if n := strings.Compare(na, nb); n != 0 {
				return n
			}
			continue
		}
		if ca != cb {
			return cmp.Compare(ca, cb)
		}
		i++
		j++
	}
	if n := cmp.Compare(len(a)-i, len(b)-j); n != 0 {
		return n
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
