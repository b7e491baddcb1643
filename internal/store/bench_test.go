package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

// Store benchmarks on both engines. Records are synthetic and shaped like
// OSV's: a ~2.5 KB document (stored deflated), two aliases and one to
// three package keys. The bench/ harness measures whole commands; these
// isolate the store.

func benchEngines(b *testing.B, fn func(b *testing.B, s *Store)) {
	b.Run("sqlite", func(b *testing.B) {
		s, err := Open(context.Background(), Options{DataDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		fn(b, s)
	})
	b.Run("postgres", func(b *testing.B) {
		s, err := Open(context.Background(), Options{DSN: pgtest.DSN(b)})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		fn(b, s)
	})
}

func benchRecord(i int) Record {
	id := fmt.Sprintf("BENCH-%07d", i)
	doc := fmt.Appendf(nil, `{"id":%q,"modified":"2024-01-01T00:00:00Z","aliases":["CVE-2024-%07d","GHSA-%07d"],"details":"%0*d"}`, id, i, i, 2400, i)
	r := Record{ID: id, Modified: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Aliases: []string{fmt.Sprintf("CVE-2024-%07d", i), fmt.Sprintf("GHSA-%07d", i)}, Deflated: Deflate(doc)}
	for k := range 1 + i%3 {
		r.Packages = append(r.Packages, PackageKey{Ecosystem: "Go", Name: fmt.Sprintf("example.com/m%d", (i+k*7919)%(benchRecords/4))})
	}
	return r
}

const benchRecords = 20000

func importBench(b *testing.B, s *Store, part string, n int) {
	ctx := context.Background()
	im, err := s.BeginImport(ctx, part, "OSV")
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := im.Add(ctx, benchRecord(i)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := im.Commit(ctx, PartitionState{}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkImport writes a 20,000-record generation (replacing the previous
// one after the first round) and reports records per second.
func BenchmarkImport(b *testing.B) {
	benchEngines(b, func(b *testing.B, s *Store) {
		recs := make([]Record, benchRecords)
		for i := range recs {
			recs[i] = benchRecord(i)
		}
		ctx := context.Background()
		n := 0
		for b.Loop() {
			im, err := s.BeginImport(ctx, "Go", "OSV")
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range recs {
				if err := im.Add(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := im.Commit(ctx, PartitionState{}); err != nil {
				b.Fatal(err)
			}
			n += len(recs)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	})
}

// otherPartitions mirrors 18 more partitions of 500 records, each of its
// own ecosystem and ID prefix, as a mirror of all of OSV holds next to
// the one a lookup needs.
func otherPartitions(b *testing.B, s *Store) {
	ctx := context.Background()
	for p := range 18 {
		eco := fmt.Sprintf("Eco%02d", p)
		im, err := s.BeginImport(ctx, eco, "OSV")
		if err != nil {
			b.Fatal(err)
		}
		for i := range 500 {
			r := benchRecord(i)
			r.ID = fmt.Sprintf("E%02d-%07d", p, i)
			r.Aliases = []string{fmt.Sprintf("CVE-2023-%02d%05d", p, i)}
			for k := range r.Packages {
				r.Packages[k].Ecosystem = eco
			}
			if err := im.Add(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := im.Commit(ctx, PartitionState{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdvisoriesForNames looks up 1,000 package names (as a
// 1,000-component scan does) in a 20,000-record partition, next to 18
// other partitions.
func BenchmarkAdvisoriesForNames(b *testing.B) {
	benchEngines(b, func(b *testing.B, s *Store) {
		importBench(b, s, "Go", benchRecords)
		otherPartitions(b, s)
		names := make([]string, 1000)
		for i := range names {
			names[i] = fmt.Sprintf("example.com/m%d", i*5)
		}
		ctx := context.Background()
		for b.Loop() {
			m, err := s.AdvisoriesForNames(ctx, "Go", names)
			if err != nil || len(m) == 0 {
				b.Fatal(err, len(m))
			}
		}
	})
}

// BenchmarkAdvisoriesFor is the same lookup one name at a time, the way
// scans asked before AdvisoriesForNames.
func BenchmarkAdvisoriesFor(b *testing.B) {
	benchEngines(b, func(b *testing.B, s *Store) {
		importBench(b, s, "Go", benchRecords)
		ctx := context.Background()
		for b.Loop() {
			for i := range 1000 {
				if _, err := s.AdvisoriesFor(ctx, "Go", fmt.Sprintf("example.com/m%d", i*5)); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkAdvisoriesByIDs looks up 2,000 IDs (1,000 record IDs and 1,000
// aliases, as a scan's alias-group severity does) among 19 partitions.
func BenchmarkAdvisoriesByIDs(b *testing.B) {
	benchEngines(b, func(b *testing.B, s *Store) {
		importBench(b, s, "Go", benchRecords)
		otherPartitions(b, s)
		var ids []string
		for i := range 1000 {
			ids = append(ids, fmt.Sprintf("BENCH-%07d", i*7), fmt.Sprintf("CVE-2024-%07d", i*11))
		}
		ctx := context.Background()
		for b.Loop() {
			advs, err := s.AdvisoriesByIDs(ctx, ids, nil)
			if err != nil || len(advs) != 2000-91 {
				b.Fatal(err, len(advs))
			}
		}
	})
}

// BenchmarkListOpenFindingsUnassessed lists the first page of a project's
// 10,000 findings that are unassessed, each call at its own time as
// requests are. One vulnerability in ten is assessed globally (1,000
// assessments), as in a portfolio where people work through the list.
func BenchmarkListOpenFindingsUnassessed(b *testing.B) {
	benchEngines(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		pkgs := benchPackages(func(i int, id string) ObservedFinding {
			return ObservedFinding{VulnID: id, IDs: []string{id}, Rating: "HIGH", Score: 75, Sources: []string{"OSV"}, EPSSPercentile: -1}
		})
		if _, err := s.RecordFindings(ctx, "project:app", pkgs, now); err != nil {
			b.Fatal(err)
		}
		var as []Assessment
		for i := 0; i < 10000; i += 10 {
			as = append(as, Assessment{VulnID: fmt.Sprintf("GHSA-%d-%d", i/5, i%5), Scope: "global", Type: "Ignore", At: now})
		}
		if err := s.SetAssessments(ctx, as, "set", "bench", now); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range b.N {
			f := FindingPageFilter{Scopes: []string{"project:app"}, Assessment: AssessedNone, Now: now.Add(time.Duration(i) * time.Millisecond), Limit: 50}
			if _, n, err := s.ListOpenFindings(ctx, f); err != nil || n != 9000 {
				b.Fatal(n, err)
			}
		}
	})
}

// BenchmarkListOpenFindingsUnassessedTop is BenchmarkListOpenFindingsUnassessed
// with the assessed findings at the top of the list, as the default
// auto-assessment rules leave it (the most severe quarter assessed in the
// project's scope); the list is read again after every write and at most
// countTTL later.
func BenchmarkListOpenFindingsUnassessedTop(b *testing.B) {
	benchEngines(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		var as []Assessment
		pkgs := benchPackages(func(i int, id string) ObservedFinding {
			if i < 500 {
				as = append(as, Assessment{VulnID: id, Scope: "project:app", Type: "Blocked", At: now, Auto: true})
			}
			return ObservedFinding{VulnID: id, IDs: []string{id}, Rating: "HIGH", Score: 100 - i/20, Sources: []string{"OSV"}, EPSSPercentile: -1}
		})
		if _, err := s.RecordFindings(ctx, "project:app", pkgs, now); err != nil {
			b.Fatal(err)
		}
		if err := s.SetAssessments(ctx, as, "auto", "bench", now); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range b.N {
			f := FindingPageFilter{Scopes: []string{"project:app"}, Assessment: AssessedNone, Now: now.Add(time.Duration(i) * time.Millisecond), Limit: 50}
			if _, n, err := s.ListOpenFindings(ctx, f); err != nil || n != 7500 {
				b.Fatal(n, err)
			}
		}
	})
}

// BenchmarkProjectsAffectedBy asks which of 10 projects (5,000 open
// findings each, 50,000 in all) a vulnerability affects, as the
// vulnerability page does.
func BenchmarkProjectsAffectedBy(b *testing.B) {
	benchEngines(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		for p := range 10 {
			up := VersionUpload{Project: Project{Name: fmt.Sprintf("p%d", p)}, Version: "1", Format: "cyclonedx-json"}
			for i := range 1000 {
				c := ProjectComponent{PURL: fmt.Sprintf("pkg:npm/c%d@1", i), Name: fmt.Sprintf("c%d", i), Version: "1"}
				for j := range 5 {
					n := (i*5 + j + p*1700) % 20000
					c.Findings = append(c.Findings, ProjectFinding{VulnID: fmt.Sprintf("GHSA-%05d", n), IDs: []string{fmt.Sprintf("GHSA-%05d", n), fmt.Sprintf("CVE-2024-%05d", n)}, Rating: "HIGH", Score: 75, FirstSeen: now, LastSeen: now})
				}
				up.Components = append(up.Components, c)
			}
			if _, err := s.ReplaceProjectVersion(ctx, up, now); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for i := range b.N {
			n := 1700 + i%3300 // in p0 (up to 4,999) and p1 (from 1,700)
			got, err := s.ProjectsAffectedBy(ctx, []string{fmt.Sprintf("CVE-2024-%05d", n), fmt.Sprintf("GHSA-%05d", n)})
			if err != nil || len(got) != 2 {
				b.Fatal(got, err)
			}
		}
	})
}

// BenchmarkRecordFeedDecisions writes one batch of the feed gate's audit
// (256 downloads of one cached package version, as the audit trail
// gathers them under load): the feed_decision rows and the package's
// tracking row, in one transaction.
func BenchmarkRecordFeedDecisions(b *testing.B) {
	benchEngines(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		if err := s.CreateFeed(ctx, Feed{Name: "npm", Type: "npm", Upstream: "http://127.0.0.1:1", Sources: []string{"osv"}, MetadataTTL: time.Minute}, now); err != nil {
			b.Fatal(err)
		}
		ds := make([]FeedDecision, 256)
		for i := range ds {
			ds[i] = FeedDecision{Feed: "npm", PURL: "pkg:npm/ansi-html@0.0.8", Effect: "allow", Reasons: "no known vulnerabilities", Client: "127.0.0.2:41234 Go-http-client/1.1",
				Ecosystem: "npm", Name: "ansi-html", Version: "0.0.8", At: now}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if err := s.RecordFeedDecisions(ctx, ds); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkOpenExisting is what every command pays to open a SQLite store
// that exists and is up to date (a CLI scan, a mirror): the connection,
// its pragmas, SQLite parsing the schema, goose finding nothing pending,
// and the close (WAL checkpoint, -wal and -shm removed). The schema, not
// the data, sets its cost. Process start and package init are measured
// with whole processes instead (docs/performance.md, "Process start-up").
func BenchmarkOpenExisting(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	s, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	for b.Loop() {
		s, err := Open(ctx, Options{DataDir: dir, PageCacheKiB: 1024})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordFindings records a project's 10,000 findings (2,000
// packages, five each, two sources) anew and then again, as the next
// analysis refreshes them: the first and second scan of an upload.
func BenchmarkRecordFindings(b *testing.B) {
	benchEngines(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		pkgs := benchPackages(func(i int, id string) ObservedFinding {
			return ObservedFinding{VulnID: id, IDs: []string{id, "CVE-" + id}, Rating: "HIGH", Score: 75, Sources: []string{"OSV", "OSS Index"}, EPSSPercentile: -1}
		})
		n := 0
		for b.Loop() {
			n++
			scope := fmt.Sprintf("project:p%d", n)
			for k := range 2 {
				if _, err := s.RecordFindings(ctx, scope, pkgs, now.Add(time.Duration(k)*time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// benchPackages is a project's 2,000 packages (pkg:npm/p<i>@1) with five
// findings each, GHSA-<i>-<j>, made by finding from the package's number
// and the ID.
func benchPackages(finding func(i int, id string) ObservedFinding) []ObservedPackage {
	var pkgs []ObservedPackage
	for i := range 2000 {
		p := ObservedPackage{PURL: fmt.Sprintf("pkg:npm/p%d@1", i), Ecosystem: "npm", Name: fmt.Sprintf("p%d", i), Version: "1", Complete: true}
		for j := range 5 {
			p.Findings = append(p.Findings, finding(i, fmt.Sprintf("GHSA-%d-%d", i, j)))
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}
