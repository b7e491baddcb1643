package osvmirror

import (
	"context"
	"slices"
	"testing"

	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// TestSyncsTwoEcosystemsAtOnce: ecosystems are synced two at a time on
// both engines; the report still lists them in the order asked, and the
// store holds what a one-at-a-time sync (a progress bar) stores.
func TestSyncsTwoEcosystemsAtOnce(t *testing.T) {
	dir := corpus.Dir(t)
	srv := corpus.Serve(t, dir)
	ecos := []string{"npm", "Go", "Alpine", "PyPI", "crates.io", "Maven"}
	one := openStore(t)
	m, err := New(one, Options{BaseURL: srv.URL, Ecosystems: ecos, TempDir: t.TempDir(), NewProgress: func() Progress { return nopProgress{} }})
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Sync(context.Background())
	if err != nil || want.Failed() {
		t.Fatalf("one at a time: %v %+v", err, want)
	}
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		got := doSync(t, st, srv.URL, ecos...)
		if len(got.Ecosystems) != len(ecos) {
			t.Fatalf("%d ecosystems reported, want %d", len(got.Ecosystems), len(ecos))
		}
		for i, e := range got.Ecosystems {
			w := want.Ecosystems[i]
			if e.Ecosystem != ecos[i] || e.Err != nil || e.Mode != ModeFull || e.Records != w.Records || e.MalformedCount != w.MalformedCount {
				t.Errorf("report %d: %s %s %d records (%d malformed, %v); want %s full %d (%d)", i, e.Ecosystem, e.Mode, e.Records, e.MalformedCount, e.Err, ecos[i], w.Records, w.MalformedCount)
			}
		}
		for _, q := range []struct{ eco, name string }{{"Go", "toolchain"}, {"PyPI", "ansible"}, {"Maven", "com.fasterxml.jackson.core:jackson-databind"}} {
			got, want := ids(t, st, q.eco, q.name), ids(t, one, q.eco, q.name)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) || len(want) == 0 {
				t.Errorf("%s/%s: %v, one at a time %v", q.eco, q.name, got, want)
			}
		}
		for _, eco := range ecos {
			if got, want := recordIDs(t, st, eco), recordIDs(t, one, eco); !slices.Equal(got, want) {
				t.Errorf("%s: %d record IDs, one at a time %d", eco, len(got), len(want))
			}
		}
	})
}

type nopProgress struct{}

func (nopProgress) Start(string, int) {}
func (nopProgress) Add(int)           {}
func (nopProgress) Finish()           {}

func recordIDs(t *testing.T, st *store.Store, part string) []string {
	t.Helper()
	ids, err := st.RecordIDs(context.Background(), part)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}
