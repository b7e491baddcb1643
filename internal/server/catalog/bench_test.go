package catalog_test

import (
	"context"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/cputime"
	"github.com/vulngate/vulngate/internal/server/catalog"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

func processCPU() time.Duration {
	d, _ := cputime.Process()
	return d
}

// BenchmarkIndexAfterDelta is the server's index refresh after a mirror
// sync of the corpus's delta (25 Go records) on the whole corpus (SQLite):
// "full" compares every partition and resolves every alias group (as
// before RefreshChanged), "targeted" what the mirror job does now. Each
// iteration first syncs incrementally to the delta or back (untimed).
// cpu-ms/op is the process's user+sys CPU per refresh.
func BenchmarkIndexAfterDelta(b *testing.B) {
	dir := corpus.Dir(b)
	for _, mode := range []string{"full", "targeted"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			st, err := store.Open(ctx, store.Options{DataDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			srv := corpus.Serve(b, dir)
			m, err := osvmirror.New(st, osvmirror.Options{BaseURL: srv.URL, Ecosystems: []string{"Go"}, TempDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			all, err := m.Available(ctx)
			if err != nil {
				b.Fatal(err)
			}
			sync(b, st, srv.URL, all...)
			ch := fullIndex(b, st)
			var cpu time.Duration
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				srv.SetDir(map[bool]string{true: dir + "/delta", false: dir}[i%2 == 0])
				before, err := st.Partitions(ctx)
				if err != nil {
					b.Fatal(err)
				}
				rep, err := m.Sync(ctx)
				if err != nil || rep.Ecosystems[0].Mode != osvmirror.ModeIncremental {
					b.Fatalf("%v %+v", err, rep)
				}
				b.StartTimer()
				c0 := processCPU()
				if mode == "full" {
					ch, err = catalog.RefreshChanged(ctx, st, quiet, nil)
					if err == nil {
						err = catalog.ResolveGroupSeverities(ctx, st, quiet)
					}
				} else {
					ch, err = catalog.RefreshChanged(ctx, st, quiet, catalog.UnchangedSince(ch.Partitions, before, nil))
					if err == nil {
						err = catalog.ResolveGroupSeveritiesOf(ctx, st, quiet, ch.Keys)
					}
				}
				cpu += processCPU() - c0
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
