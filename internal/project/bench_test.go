package project_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/project"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// BenchmarkAnalyzeDelta measures the continuous analysis after a mirror
// delta that touches 50 packages, over a portfolio of
// $VULNGATE_BENCH_VERSIONS project versions (default 1,000) of
// $VULNGATE_BENCH_COMPONENTS components each (default 1,000), drawn from a
// pool of 20,000 Go modules (so each package is in about 50 versions).
// Only the analysis is timed; each iteration first applies a delta that
// modifies 50 advisories of 50 packages.
//
//	go test ./internal/project -run '^$' -bench AnalyzeDelta -benchtime 3x -timeout 30m
func BenchmarkAnalyzeDelta(b *testing.B) {
	versions := envInt("VULNGATE_BENCH_VERSIONS", 1000)
	perVersion := envInt("VULNGATE_BENCH_COMPONENTS", 1000)
	const pool = 20000
	ctx := context.Background()
	st := storetest.SQLite(b)
	name := func(i int) string { return fmt.Sprintf("example.com/bench/m%05d", i) }
	advisory := func(i int, mod time.Time) store.Record {
		id := fmt.Sprintf("GO-BENCH-%05d", i)
		data := fmt.Sprintf(`{"id":%q,"modified":%q,"summary":"bench","affected":[{"package":{"ecosystem":"Go","name":%q},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.5"}]}]}],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`,
			id, mod.Format(time.RFC3339), name(i))
		return store.Record{ID: id, Modified: mod, Packages: []store.PackageKey{{Ecosystem: "Go", Name: name(i)}}, Data: []byte(data)}
	}
	// Advisories for the first 1,000 modules of the pool.
	im, err := st.BeginImport(ctx, "Go", "OSV")
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		if err := im.Add(ctx, advisory(i, t0)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := im.Commit(ctx, store.PartitionState{LastSync: t0}); err != nil {
		b.Fatal(err)
	}
	svc := project.New(project.Options{Store: st})
	if _, err := svc.Analyze(ctx); err != nil { // consume the first import's entry
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	for v := range versions {
		up := store.VersionUpload{Project: store.Project{Name: fmt.Sprintf("p%03d", v/5)}, Version: fmt.Sprintf("1.%d", v%5)}
		seen := map[int]bool{}
		for len(up.Components) < perVersion {
			i := rng.IntN(pool)
			if seen[i] {
				continue
			}
			seen[i] = true
			ver := fmt.Sprintf("1.0.%d", rng.IntN(10))
			up.Components = append(up.Components, store.ProjectComponent{PURL: "pkg:golang/" + name(i) + "@v" + ver, Name: name(i), Version: ver, Ecosystem: "Go", PkgName: name(i)})
		}
		if _, err := st.ReplaceProjectVersion(ctx, up, t0); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("portfolio: %d versions x %d components stored in %s", versions, perVersion, time.Since(start).Round(time.Second))
	b.ResetTimer()
	var last project.AnalysisReport
	for n := 0; b.Loop(); n++ {
		b.StopTimer()
		var ups []store.Record
		for k := range 50 {
			ups = append(ups, advisory((n*50+k)%1000, t0.Add(time.Duration(n+1)*time.Hour)))
		}
		ps, err := st.Partition(ctx, "Go")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.ApplyDelta(ctx, "Go", store.Delta{Upserts: ups}, ps); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if last, err = svc.Analyze(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(last.Components), "components/op")
	b.ReportMetric(float64(last.Versions), "versions/op")
	b.Logf("last analysis: %+v", last)
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
