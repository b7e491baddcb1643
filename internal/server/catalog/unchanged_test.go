package catalog_test

import (
	"slices"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/server/catalog"
	"github.com/vulngate/vulngate/internal/store"
)

func TestUnchangedSince(t *testing.T) {
	t0, t1, t2 := time.Unix(100, 0), time.Unix(200, 0), time.Unix(300, 0)
	ps := func(name string, gen int64, recs int, sync time.Time) store.PartitionState {
		return store.PartitionState{Name: name, Generation: gen, Records: recs, LastSync: sync}
	}
	indexed := []store.PartitionState{ps("a", 1, 10, t0), ps("b", 1, 10, t0), ps("c", 1, 10, t0), ps("d", 1, 10, t0)}
	// a: untouched; b: synced, no change reported; c: changed by the
	// sync; d: changed by someone else before a quiet sync.
	before := []store.PartitionState{ps("a", 1, 10, t0), ps("b", 1, 10, t0), ps("c", 1, 10, t0), ps("d", 1, 10, t1)}
	quiet := map[string]bool{"b": true, "d": true}
	f := catalog.UnchangedSince(indexed, before, quiet)
	for _, c := range []struct {
		p    store.PartitionState
		want bool
	}{
		{ps("a", 1, 10, t0), true},
		{ps("b", 1, 10, t2), true},
		{ps("c", 1, 11, t2), false},
		{ps("c", 1, 10, t2), false},
		{ps("d", 1, 10, t2), false},
		{ps("b", 2, 10, t2), false},
		{ps("e", 1, 10, t0), false},
	} {
		if got := f(c.p); got != c.want {
			t.Errorf("%+v: %v, want %v", c.p, got, c.want)
		}
	}
}

// TestNamedSince: a sync's named records are all that changed only when
// the index was made from the partition as the sync found it and the sync
// kept its generation.
func TestNamedSince(t *testing.T) {
	t0, t1, t2 := time.Unix(100, 0), time.Unix(200, 0), time.Unix(300, 0)
	ps := func(name string, gen int64, recs int, sync time.Time) store.PartitionState {
		return store.PartitionState{Name: name, Generation: gen, Records: recs, LastSync: sync}
	}
	indexed := []store.PartitionState{ps("a", 1, 10, t0), ps("b", 1, 10, t0), ps("c", 1, 10, t0)}
	// a: as indexed before the sync; b: synced by someone else since the
	// index was made; c: as indexed; d: new.
	before := []store.PartitionState{ps("a", 1, 10, t0), ps("b", 1, 12, t1), ps("c", 1, 10, t0), ps("d", 1, 5, t1)}
	named := map[string][]string{"a": {"A-1"}, "b": {"B-1"}, "d": {"D-1"}}
	f := catalog.NamedSince(indexed, before, named)
	for _, c := range []struct {
		p    store.PartitionState
		want []string
	}{
		{ps("a", 1, 11, t2), []string{"A-1"}},
		{ps("a", 2, 11, t2), nil}, // imported again
		{ps("b", 1, 13, t2), nil},
		{ps("c", 1, 10, t2), nil}, // not named
		{ps("d", 1, 6, t2), nil},
	} {
		got, ok := f(c.p)
		if ok != (c.want != nil) || !slices.Equal(got, c.want) {
			t.Errorf("%+v: %q %v, want %q", c.p, got, ok, c.want)
		}
	}
}
