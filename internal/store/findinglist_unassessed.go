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
// list's length. A list too long to keep has its pages checked row by row.

// Bounds of the kept lists: how many filters, and how long a list may be
// (a variable for tests). A longer list is not read again for each page:
// its pages check each row (unassessedFinding) and its total is counted.
const maxUnassessedLists = 16

var maxUnassessedList = 200_000

// unassessedList is a kept list: the IDs in list order, or long when there
// are more than maxUnassessedList (none kept).
type unassessedList struct {
	ids  []int64
	long bool
}

func newUnassessedCache() *listCache[unassessedList] {
	return newListCache(maxUnassessedLists, func(unassessedList, time.Duration) bool { return true })
}

// unassessedFinding is the condition that finding f has no assessment in
// its scope or globally, not expired, on any of its IDs, checked on f
// alone; its placeholder takes now.
const unassessedFinding = `NOT EXISTS (SELECT 1 FROM finding_vuln fv JOIN assessment a ON a.vuln_id = fv.vuln_id
 WHERE fv.finding_id = f.id AND a.scope IN (f.scope, 'global') AND (a.expires_at = '' OR a.expires_at > ?))`

// listsChanged voids the list caches: called after each write.
func (s *Store) listsChanged() {
	s.counts.invalidate()
	s.unassessed.invalidate()
}

// unassessedPage returns the IDs of the page of f (Assessment
// AssessedNone; where and args its condition) in list order and the
// number of matches, or kept false when the list is too long to keep.
func (s *Store) unassessedPage(ctx context.Context, f FindingPageFilter, where string, args []any) (ids []any, total int, kept bool, err error) {
	list, err := s.unassessed.get(ctx, f.countKey(), func(ctx context.Context) (unassessedList, error) {
		ids, err := queryAll(ctx, cachedQuerier{s}, s.Rebind(`SELECT f.id FROM finding f`+where+findingOrder+` LIMIT ?`), append(args, maxUnassessedList+1), func(r scanner) (id int64, err error) {
			return id, r.Scan(&id)
		})
		if len(ids) > maxUnassessedList {
			return unassessedList{long: true}, err
		}
		return unassessedList{ids: ids}, err
	})
	if err != nil || list.long {
		return nil, 0, false, err
	}
	from := min(max(f.Offset, 0), len(list.ids))
	page := list.ids[from:min(from+pageLimit(f.Limit), len(list.ids))]
	ids = make([]any, len(page))
	for i, id := range page {
		ids[i] = id
	}
	return ids, len(list.ids), true, nil
}

// whereRowByRow is the condition of f (Assessment AssessedNone) with the
// assessments checked row by row, for a page of a list too long to keep.
func (f FindingPageFilter) whereRowByRow() (string, []any) {
	rest := f
	rest.Assessment = ""
	where, args := rest.where() // never empty: open findings only
	return where + ` AND ` + unassessedFinding, append(args, fmtTime(f.Now))
}
