package osvmirror

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// TestEarlyStartSpelledOtherwise: a selection spelled unlike the source
// ("go" for "Go") begins a sync that is not used; the ecosystem is synced
// all the same, incrementally, and the unused request is its only cost.
func TestEarlyStartSpelledOtherwise(t *testing.T) {
	dir := corpus.Dir(t)
	srv := corpus.Serve(t, dir)
	st := openStore(t)
	if e := doSync(t, st, srv.URL, "go").Ecosystems[0]; e.Err != nil || e.Mode != ModeFull || e.Ecosystem != "Go" {
		t.Fatalf("first sync: %+v", e)
	}
	srv.SetDir(filepath.Join(dir, "delta"))
	lists, early := srv.Hits("Go/modified_id.csv"), srv.Hits("go/modified_id.csv")
	e := doSync(t, st, srv.URL, "go").Ecosystems[0]
	if e.Err != nil || e.Mode != ModeIncremental || e.Updated != 20 || e.Added != 5 || e.Removed != 5 {
		t.Fatalf("delta sync: %+v", e)
	}
	if got := []int{srv.Hits("Go/modified_id.csv") - lists, srv.Hits("go/modified_id.csv") - early}; got[0] != 1 || got[1] != 1 {
		t.Errorf("requests for Go/ and go/modified_id.csv = %v, want [1 1] (the sync's and the unused early one)", got)
	}
}

// TestEarlyStartUsedOnce: an incremental sync uses the list its early
// start requested instead of asking again, and a full import asks for it
// only when it was begun early (the first ecosystems named).
func TestEarlyStartUsedOnce(t *testing.T) {
	dir := corpus.Dir(t)
	srv := corpus.Serve(t, dir)
	st := openStore(t)
	doSync(t, st, srv.URL, "Go", "crates.io", "RubyGems")
	if got := []int{srv.Hits("Go/modified_id.csv"), srv.Hits("crates.io/modified_id.csv"), srv.Hits("RubyGems/modified_id.csv")}; got[0] != 1 || got[1] != 1 || got[2] != 0 {
		t.Errorf("first sync's list requests (Go, crates.io, RubyGems) = %v, want [1 1 0]", got)
	}
	rep := doSync(t, st, srv.URL, "Go", "crates.io", "RubyGems")
	for _, e := range rep.Ecosystems {
		if e.Err != nil || e.Mode != ModeUnchanged {
			t.Errorf("second sync: %+v", e)
		}
	}
	if got := []int{srv.Hits("Go/modified_id.csv"), srv.Hits("crates.io/modified_id.csv"), srv.Hits("RubyGems/modified_id.csv")}; got[0] != 2 || got[1] != 2 || got[2] != 1 {
		t.Errorf("list requests after the second sync (Go, crates.io, RubyGems) = %v, want [2 2 1]", got)
	}
}

// servedGo serves the corpus over HTTP and mirrors its Go records into a
// new store.
func servedGo(t *testing.T) (dir string, srv *corpus.Server, st *store.Store) {
	t.Helper()
	dir = corpus.Dir(t)
	srv = corpus.Serve(t, dir)
	st = openStore(t)
	doSync(t, st, srv.URL, "Go")
	return dir, srv, st
}

// TestForcedFullImportBeginsNothingEarly: a forced full import requests no
// modified_id.csv.
func TestForcedFullImportBeginsNothingEarly(t *testing.T) {
	_, srv, st := servedGo(t)
	m, err := New(st, Options{BaseURL: srv.URL, Ecosystems: []string{"Go"}, ForceFull: true, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	lists := srv.Hits("Go/modified_id.csv")
	rep, err := m.Sync(context.Background())
	if err != nil || rep.Ecosystems[0].Err != nil || rep.Ecosystems[0].Mode != ModeFull {
		t.Fatalf("forced sync: %v %+v", err, rep)
	}
	if got := srv.Hits("Go/modified_id.csv") - lists; got != 0 {
		t.Errorf("forced full import requested modified_id.csv %d times", got)
	}
}

// TestEarlyStartWithoutEcosystemList: when the source's ecosystems.txt
// cannot be read, the sync fails with that error and its early start
// changes nothing.
func TestEarlyStartWithoutEcosystemList(t *testing.T) {
	dir, srv, st := servedGo(t)
	srv.SetDir(filepath.Join(dir, "delta"))
	srv.Fail("ecosystems.txt", http.StatusNotFound)
	m, err := New(st, Options{BaseURL: srv.URL, Ecosystems: []string{"Go"}, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Sync(context.Background()); err == nil || !strings.Contains(err.Error(), "ecosystems") {
		t.Fatalf("Sync err = %v, want the list's", err)
	}
	if adv, _ := st.AdvisoriesByID(context.Background(), "GO-2022-1129"); len(adv) != 1 {
		t.Errorf("a record the delta removes is gone after a failed sync")
	}
}
