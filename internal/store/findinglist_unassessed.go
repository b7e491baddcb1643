package store

import (
	"context"
	"time"
)

// This file lists a page of unassessed findings. Checking each finding
// in list order for an assessment of one of its IDs (a subquery per row,
// ~6 index probes) costs what the assessed findings before the page cost:
// with the default auto-assessment rules the most severe findings are the
// assessed ones, and a project of 10,741 findings walked 2,381 of them for
// its first page (7.5 ms of server CPU per request, p99 1.2 s at 200
// clients). Instead the whole list's IDs are read in order once, with the
// assessed findings gathered first (assessedFindings, the total's
// condition), and kept in the list cache (listcache.go: voided by any
// write of this process, at most countTTL old otherwise, as the totals
// are); a page is a slice of it, its rows read by ID, and its total the
// list's length.

// Bounds of the kept lists: how many filters, and how long a list may be
// (a longer one is read for each page).
const (
	maxUnassessedLists = 16
	maxUnassessedList  = 200_000
)

func newUnassessedCache() *listCache[[]int64] {
	return newListCache(maxUnassessedLists, func(ids []int64, _ time.Duration) bool { return len(ids) <= maxUnassessedList })
}

// listsChanged voids the list caches: called after each write.
func (s *Store) listsChanged() {
	s.counts.invalidate()
	s.unassessed.invalidate()
}

// unassessedPage returns the IDs of the page of f (Assessment
// AssessedNone) in list order and the number of matches.
func (s *Store) unassessedPage(ctx context.Context, f FindingPageFilter) ([]any, int, error) {
	where, args := f.where()
	all, err := s.unassessed.get(ctx, f.countKey(), func() ([]int64, error) {
		return queryAll(ctx, cachedQuerier{s}, s.Rebind(`SELECT f.id FROM finding f`+where+findingOrder), args, func(r scanner) (id int64, err error) {
			return id, r.Scan(&id)
		})
	})
	if err != nil {
		return nil, 0, err
	}
	from := min(max(f.Offset, 0), len(all))
	page := all[from:min(from+pageLimit(f.Limit), len(all))]
	ids := make([]any, len(page))
	for i, id := range page {
		ids[i] = id
	}
	return ids, len(all), nil
}
