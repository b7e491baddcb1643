package osvmirror

import (
	"context"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// BenchmarkFullImport imports every ecosystem of the shared corpus from a
// file:// source into a fresh store and reports advisories per second.
func BenchmarkFullImport(b *testing.B) {
	dir := corpus.Dir(b)
	ecos, err := readEcosystems(context.Background(), &fileFetcher{dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	records := 0
	for b.Loop() {
		b.StopTimer()
		st := openStore(b)
		m, err := New(st, Options{BaseURL: "file://" + dir, Ecosystems: ecos})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := m.Sync(context.Background())
		if err != nil || rep.Failed() {
			b.Fatalf("%v %+v", err, rep)
		}
		for _, e := range rep.Ecosystems {
			records += e.Records + e.MalformedCount
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "advisories/s")
}

// BenchmarkIncrementalDelta measures applying the corpus's delta/ snapshot
// (20 changed, 5 added, 5 removed Go records) over HTTP after a full
// import, in the process that made the import (as the server's scheduled
// mirror job runs it). It also reports the full Go import of each
// iteration, timed the same way, and the delta as a share of it (the
// issue's target: at most 5%).
func BenchmarkIncrementalDelta(b *testing.B) {
	dir := corpus.Dir(b)
	var full, delta time.Duration
	for b.Loop() {
		b.StopTimer()
		srv := corpus.Serve(b, dir)
		st := openStore(b)
		m, _ := New(st, Options{BaseURL: srv.URL, Ecosystems: []string{"Go"}})
		start := time.Now()
		if rep, err := m.Sync(context.Background()); err != nil || rep.Ecosystems[0].Mode != ModeFull {
			b.Fatalf("%v %+v", err, rep)
		}
		full += time.Since(start)
		srv.SetDir(dir + "/delta")
		b.StartTimer()
		start = time.Now()
		rep, err := m.Sync(context.Background())
		delta += time.Since(start)
		if err != nil || rep.Ecosystems[0].Mode != ModeIncremental {
			b.Fatalf("%v %+v", err, rep)
		}
	}
	b.ReportMetric(float64(full.Microseconds())/1000/float64(b.N), "full-Go-import-ms")
	b.ReportMetric(100*delta.Seconds()/full.Seconds(), "%-of-full")
}
