package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// Pages of open findings come in the list's order (score descending, then
// vulnerability, scope, package URL, ID) whether the engine reads them from
// an index (one scope, or every scope) or sorts them (several scopes), with
// and without the unassessed filter; on SQLite the page of one scope or of
// every scope is read in order from an index, not sorted.
func TestFindingPagesFollowListOrder(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
		for _, scope := range []string{"project:a", "project:b", "feed:npm"} {
			var pkgs []ObservedPackage
			for i := range 12 {
				p := ObservedPackage{PURL: fmt.Sprintf("pkg:npm/p%02d@1", i%5), Ecosystem: "npm", Name: fmt.Sprintf("p%02d", i%5), Version: "1", Complete: true}
				if i >= 5 {
					p.PURL = fmt.Sprintf("pkg:npm/p%02d@2", i)
				}
				for j := range 1 + i%3 {
					id := fmt.Sprintf("GHSA-%03d", (i*7+j*5)%17)
					p.Findings = append(p.Findings, ObservedFinding{VulnID: id, IDs: []string{id, "CVE-" + id[5:]}, Rating: "HIGH",
						Score: []int{-1, 50, 75, 75, 98}[(i+j)%5], Sources: []string{"OSV"}, EPSSPercentile: -1})
				}
				pkgs = append(pkgs, p)
			}
			if _, err := s.RecordFindings(ctx, scope, pkgs, now); err != nil {
				t.Fatal(err)
			}
		}
		as := []Assessment{
			{VulnID: "CVE-003", Scope: "global", Type: "Blocked", At: now},
			{VulnID: "GHSA-005", Scope: "project:a", Type: "Blocked", At: now},
		}
		if err := s.SetAssessments(ctx, as, "set", "t", now); err != nil {
			t.Fatal(err)
		}
		all, _, err := s.ListOpenFindings(ctx, FindingPageFilter{Now: now, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []FindingPageFilter{
			{Scopes: []string{"project:a"}},
			{Scopes: []string{"project:a"}, Assessment: AssessedNone},
			{},
			{Assessment: AssessedNone},
			{Scopes: []string{"project:a", "feed:npm"}},
			{Scopes: []string{"project:a"}, Assessment: AssessedAny},
			{Scopes: []string{"project:b", "feed:npm"}, Assessment: AssessedAny},
			{Scopes: []string{"project:b", "project:a"}, Assessment: AssessedNone},
		} {
			var want []FindingRow
			for _, x := range all {
				if (len(f.Scopes) == 0 || slices.Contains(f.Scopes, x.Scope)) && (f.Assessment == "" || (x.Assessment == "") == (f.Assessment == AssessedNone)) {
					want = append(want, x)
				}
			}
			slices.SortFunc(want, func(a, b FindingRow) int {
				return cmp.Or(b.Score-a.Score, strings.Compare(a.VulnID, b.VulnID), strings.Compare(a.Scope, b.Scope), strings.Compare(a.PURL, b.PURL), cmp.Compare(a.ID, b.ID))
			})
			var got []FindingRow
			for off := 0; ; off += 7 {
				f.Now, f.Offset, f.Limit = now, off, 7
				rows, n, err := s.ListOpenFindings(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if n != len(want) {
					t.Fatalf("%+v: total %d, want %d", f, n, len(want))
				}
				if len(rows) == 0 {
					break
				}
				got = append(got, rows...)
			}
			least := 10 // several pages
			if f.Assessment == AssessedAny {
				least = 2 // two vulnerabilities are assessed
			}
			if len(want) < least || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%+v: pages\n%v\nwant\n%v", f, got, want)
			}
		}
		if s.Dialect() != SQLite {
			return
		}
		for i, scopes := range [][]string{{"project:a"}, nil, {"project:a"}, nil} {
			// An unassessed page reads the list's IDs (unassessedPage), or
			// checks each row when the list is too long to keep.
			f := FindingPageFilter{Scopes: scopes, Assessment: AssessedNone, Now: now}
			where, args := f.where()
			if i >= 2 {
				where, args = f.whereRowByRow()
			}
			q := `EXPLAIN QUERY PLAN SELECT f.id FROM finding f` + where + findingOrder + ` LIMIT 50`
			rows, err := queryAll(ctx, s.db, q, args, func(r scanner) (string, error) {
				var id, parent, unused int
				var detail string
				err := r.Scan(&id, &parent, &unused, &detail)
				return fmt.Sprint(parent, " ", detail), err
			})
			if err != nil {
				t.Fatal(err)
			}
			if plan := strings.Join(rows, "\n"); !strings.Contains(plan, "finding_open_") || strings.Contains(plan, "0 USE TEMP B-TREE FOR ORDER BY") {
				t.Errorf("scopes %v: the page is not read in order from an index:\n%s", scopes, plan)
			}
		}
	})
}

// The total of a list of findings is kept without the time it is asked
// at, and a total of countCacheFrom matches is kept however fast it was
// counted, until a write.
func TestFindingTotalsCached(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	f := FindingPageFilter{Scopes: []string{"project:app"}, Assessment: AssessedNone, Now: at}
	g := f
	g.Now = at.Add(time.Millisecond)
	if _, fa := f.where(); fmt.Sprint(fa) == fmt.Sprint(func() []any { _, ga := g.where(); return ga }()) {
		t.Fatal("the where arguments do not carry now")
	}
	if f.countKey() != g.countKey() {
		t.Error("count keys differ by the time asked")
	}
	for _, h := range []FindingPageFilter{{Scopes: []string{"project:b"}, Assessment: AssessedNone}, {Scopes: []string{"project:app"}}, {Scopes: []string{"project:app"}, Assessment: AssessedNone, Ratings: []string{"LOW"}}} {
		if h.countKey() == f.countKey() {
			t.Errorf("%+v: same count key as %+v", h, f)
		}
	}

	ctx := context.Background()
	c := newCountCache()
	counts := 0
	count := func(n int) func(context.Context) (int, error) {
		return func(context.Context) (int, error) { counts++; return n, nil }
	}
	for range 2 {
		if n, _ := c.get(ctx, "small", count(countCacheFrom-1)); n != countCacheFrom-1 {
			t.Fatal(n)
		}
	}
	if counts != 2 {
		t.Fatalf("a small total counted fast was kept: %d counts of 2", counts)
	}
	for range 3 {
		c.get(ctx, "large", count(countCacheFrom))
	}
	if counts != 3 {
		t.Fatalf("a large total was counted %d times, want once", counts-2)
	}
	c.invalidate()
	if n, _ := c.get(ctx, "large", count(5)); n != 5 || counts != 4 {
		t.Fatalf("after a write: %d (%d counts)", n, counts)
	}
}

// A page's IDs and sources, read with the page as JSON arrays, are the
// stored ones in the stored order (IDs, then sources by name), text with
// quotes, backslashes, control characters and non-ASCII included, and an
// ended source keeps its times; deep pages too.
func TestFindingPageIDsAndSources(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 3, 12, 0, 0, 123456789, time.UTC)
		odd := []string{`GHSA-"q"`, `CVE-a\b`, "ID-tab\there", "ID-ü-€-😀", "ID-,", "ID-[x]", `\u0041`, "ID-\x01\x1f"}
		var pkgs []ObservedPackage
		for i := range 30 {
			p := ObservedPackage{PURL: fmt.Sprintf("pkg:npm/p%02d@1", i), Ecosystem: "npm", Name: fmt.Sprintf("p%02d", i), Version: "1", Complete: true}
			id := fmt.Sprintf("GHSA-%03d", i)
			ids := []string{"Z-" + id, id, odd[i%len(odd)], "A-" + id}
			if i%5 == 0 {
				ids = []string{id} // only its own ID
			}
			srcs := []string{"OSV", "OSS Index", `src "\` + odd[(i+3)%len(odd)]}
			p.Findings = append(p.Findings, ObservedFinding{VulnID: id, IDs: ids, Rating: "HIGH", Score: 10 + i, Sources: srcs[:1+i%3], EPSSPercentile: -1})
			pkgs = append(pkgs, p)
		}
		if _, err := s.RecordFindings(ctx, "project:x", pkgs, t0); err != nil {
			t.Fatal(err)
		}
		// A second scan in which OSS Index no longer reports anything ends
		// its attributions.
		for i := range pkgs {
			for j := range pkgs[i].Findings {
				pkgs[i].Findings[j].Sources = slices.DeleteFunc(slices.Clone(pkgs[i].Findings[j].Sources), func(v string) bool { return v == "OSS Index" })
			}
		}
		if _, err := s.RecordFindings(ctx, "project:x", pkgs, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// A third scan closes the findings of the first five packages
		// (their sources end), a fourth reopens them with an ID more.
		closing := slices.Clone(pkgs[:5])
		for i := range closing {
			closing[i].Findings = nil
		}
		if res, err := s.RecordFindings(ctx, "project:x", closing, t0.Add(2*time.Hour)); err != nil || len(res.Closed) != 5 {
			t.Fatal(len(res.Closed), err)
		}
		for i := range 5 {
			pkgs[i].Findings[0].IDs = append(slices.Clone(pkgs[i].Findings[0].IDs), "B-later")
		}
		if res, err := s.RecordFindings(ctx, "project:x", pkgs, t0.Add(3*time.Hour)); err != nil || res.Reopened != 5 {
			t.Fatal(res.Reopened, err)
		}
		checkFindingPageArrays(t, s, t0)
		// Migration 00165 fills the arrays of findings recorded before it
		// from the tables.
		up, err := migrations.ReadFile("migrations/" + string(s.dialect) + "/00165_finding_list_columns.sql")
		if err != nil {
			t.Fatal(err)
		}
		fill := string(up)[strings.Index(string(up), "UPDATE finding"):]
		fill = fill[:strings.Index(fill, ";")]
		for _, q := range []string{`UPDATE finding SET ids_json = '[]', sources_json = '[]'`, fill} {
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				t.Fatal(q, err)
			}
		}
		checkFindingPageArrays(t, s, t0)
	})
}

// checkFindingPageArrays compares the IDs and sources of every open
// finding's row on a few pages with finding_vuln and finding_source.
func checkFindingPageArrays(t *testing.T, s *Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	type idsAndSources struct {
		IDs     []string
		Sources []FindingSource
	}
	want := map[int64]idsAndSources{}
	idRows, err := queryAll(ctx, s.db, `SELECT finding_id, vuln_id FROM finding_vuln ORDER BY finding_id, vuln_id`, nil, func(r scanner) ([2]any, error) {
		var id int64
		var v string
		err := r.Scan(&id, &v)
		return [2]any{id, v}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range idRows {
		w := want[r[0].(int64)]
		w.IDs = append(w.IDs, r[1].(string))
		want[r[0].(int64)] = w
	}
	srcRows, err := queryAll(ctx, s.db, `SELECT finding_id, source, first_seen, last_seen, ended_at FROM finding_source ORDER BY finding_id, source`, nil, func(r scanner) ([2]any, error) {
		var id int64
		var src, first, last, ended string
		err := r.Scan(&id, &src, &first, &last, &ended)
		return [2]any{id, FindingSource{Source: src, FirstSeen: parseTime(first), LastSeen: parseTime(last), EndedAt: parseTime(ended)}}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	ended := 0
	for _, r := range srcRows {
		w := want[r[0].(int64)]
		src := r[1].(FindingSource)
		if !src.EndedAt.IsZero() {
			ended++
		}
		w.Sources = append(w.Sources, src)
		want[r[0].(int64)] = w
	}
	if ended == 0 {
		t.Fatal("no ended source attribution to check")
	}
	seen := 0
	for _, f := range []FindingPageFilter{{Limit: 7}, {Limit: 7, Offset: 21}, {Assessment: AssessedNone, Limit: 50}, {Assessment: "Blocked", Limit: 50}} {
		f.Now = now
		rows, _, err := s.ListOpenFindings(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range rows {
			seen++
			got := idsAndSources{x.IDs, x.Sources}
			if w := want[x.ID]; fmt.Sprintf("%q", got) != fmt.Sprintf("%q", w) {
				t.Errorf("%+v: finding %d:\n got %q\nwant %q", f, x.ID, got, w)
			}
		}
	}
	if seen < 30 {
		t.Fatalf("only %d rows listed", seen)
	}
}

// jsonStrings reads both engines' way of writing arrays, escaped or not.
func TestJSONStrings(t *testing.T) {
	for in, want := range map[string][]string{
		``:           nil,
		`[]`:         nil,
		`["a","b"]`:  {"a", "b"},
		`["a", "b"]`: {"a", "b"},
		`[["OSV","t1","",""], ["x", "y", "z", ""]]`: {"OSV", "t1", "", "", "x", "y", "z", ""},
		`["q\"uote","back\\slash","\u0001\t","ü"]`:  {`q"uote`, `back\slash`, "\x01\t", "ü"},
	} {
		got, err := jsonStrings([]byte(in))
		if err != nil || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Errorf("jsonStrings(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := jsonStrings([]byte(`["open`)); err == nil {
		t.Error("an unterminated string was read")
	}
}

// A finding's stored sources array that is malformed (corrupt data) is an
// error naming the array and what is wrong with it (it said "sources:
// <nil>" for an array of the wrong length); a good one decodes.
func TestFindingSourcesMalformed(t *testing.T) {
	for in, want := range map[string]string{
		`[["OSV","t1","t2",""],["NVD","t1"]]`: `sources "[[\"OSV\",\"t1\",\"t2\",\"\"],[\"NVD\",\"t1\"]]": 6 strings, not groups of 4`,
		`[["OSV","t1`:                         `sources "[[\"OSV\",\"t1": unterminated JSON string`,
		`[["O\"SV",1,2]`:                      `sources "[[\"O\\\"SV\",1,2]": `,
	} {
		_, err := findingSources([]byte(in))
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "<nil>") {
			t.Errorf("findingSources(%s): %v; want an error starting %s", in, err, want)
		}
	}
	long := `[` + strings.Repeat(`"x",`, 100) + `"y"]`
	if _, err := findingSources([]byte(long)); err == nil || len(err.Error()) > 320 {
		t.Errorf("long array: %v; want a short error", err)
	}
	got, err := findingSources([]byte(`[["OSV","2024-01-02T03:04:05Z","2024-02-01T00:00:00Z",""]]`))
	if err != nil || len(got) != 1 || got[0].Source != "OSV" || got[0].FirstSeen.Day() != 2 || !got[0].EndedAt.IsZero() {
		t.Errorf("good sources: %+v, %v", got, err)
	}
}
