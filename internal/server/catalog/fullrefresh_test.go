package catalog_test

import (
	"context"
	"testing"

	"github.com/vulngate/vulngate/internal/server/catalog"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// aliasCounter is a store that counts the summaries whose aliases the
// refresh asks for.
type aliasCounter struct {
	*store.Store
	asked int
}

func (c *aliasCounter) SummaryAliases(ctx context.Context, part string, ids []string) (map[string][]string, error) {
	c.asked += len(ids)
	return c.Store.SummaryAliases(ctx, part, ids)
}

// TestFullRefreshReadsNoOldAliases: a full refresh (at start, after
// enrichment) resolves every alias group afterwards, so it does not read
// the aliases of the summaries it replaces; a targeted refresh of the same
// change does.
func TestFullRefreshReadsNoOldAliases(t *testing.T) {
	dir := corpus.Dir(t)
	ctx := context.Background()
	for _, targeted := range []bool{false, true} {
		st, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		srv := corpus.Serve(t, dir)
		sync(t, st, srv.URL, "Go")
		ch := fullIndex(t, st)
		srv.SetDir(dir + "/delta")
		sync(t, st, srv.URL, "Go")
		c := &aliasCounter{Store: st}
		var unchanged func(store.PartitionState) bool
		if targeted {
			unchanged = catalog.UnchangedSince(ch.Partitions, nil, nil)
		}
		got, err := catalog.RefreshChanged(ctx, c, quiet, unchanged)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case !targeted && (c.asked != 0 || got.Keys != nil):
			t.Errorf("full refresh asked the aliases of %d summaries, named %d keys", c.asked, len(got.Keys))
		case targeted && (c.asked != 25 || len(got.Keys) == 0):
			// 20 updated and 5 removed records had summaries.
			t.Errorf("targeted refresh asked the aliases of %d summaries (want 25), named %d keys", c.asked, len(got.Keys))
		}
	}
}
