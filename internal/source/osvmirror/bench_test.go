package osvmirror

import (
	"context"
	"testing"

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
// (20 changed, 5 added, 5 removed Go records) over HTTP after a full import.
func BenchmarkIncrementalDelta(b *testing.B) {
	dir := corpus.Dir(b)
	for b.Loop() {
		b.StopTimer()
		srv := corpus.Serve(b, dir)
		st := openStore(b)
		m, _ := New(st, Options{BaseURL: srv.URL, Ecosystems: []string{"Go"}})
		if _, err := m.Sync(context.Background()); err != nil {
			b.Fatal(err)
		}
		srv.SetDir(dir + "/delta")
		b.StartTimer()
		rep, err := m.Sync(context.Background())
		if err != nil || rep.Ecosystems[0].Mode != ModeIncremental {
			b.Fatalf("%v %+v", err, rep)
		}
	}
}
