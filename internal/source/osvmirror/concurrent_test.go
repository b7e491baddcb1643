package osvmirror

import (
	"context"
	"testing"

	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

// TestPostgresSyncsTwoEcosystemsAtOnce: on PostgreSQL ecosystems are
// synced two at a time; the report still lists them in the order asked,
// and the store holds what one-at-a-time SQLite holds.
func TestPostgresSyncsTwoEcosystemsAtOnce(t *testing.T) {
	dir := corpus.Dir(t)
	srv := corpus.Serve(t, dir)
	pg, err := store.Open(context.Background(), store.Options{DSN: pgtest.DSN(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	ecos := []string{"npm", "Go", "Alpine", "PyPI", "crates.io", "Maven"}
	got := doSync(t, pg, srv.URL, ecos...)
	want := doSync(t, openStore(t), srv.URL, ecos...)
	if len(got.Ecosystems) != len(ecos) {
		t.Fatalf("%d ecosystems reported, want %d", len(got.Ecosystems), len(ecos))
	}
	for i, e := range got.Ecosystems {
		w := want.Ecosystems[i]
		if e.Ecosystem != ecos[i] || e.Err != nil || e.Mode != ModeFull || e.Records != w.Records || e.MalformedCount != w.MalformedCount {
			t.Errorf("report %d: %s %s %d records (%d malformed, %v); want %s full %d (%d)", i, e.Ecosystem, e.Mode, e.Records, e.MalformedCount, e.Err, ecos[i], w.Records, w.MalformedCount)
		}
	}
	for _, q := range []struct{ eco, name, id string }{{"Go", "toolchain", "GO-2022-0247"}, {"PyPI", "ansible", "PYSEC-2021-1"}} {
		if ids := ids(t, pg, q.eco, q.name); !contains(ids, q.id) {
			t.Errorf("%s/%s advisories lack %s: %v", q.eco, q.name, q.id, ids)
		}
	}
}
