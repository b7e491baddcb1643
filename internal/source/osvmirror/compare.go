package osvmirror

import (
	"context"
	"slices"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

// What an incremental sync compares the source's list with: the sketch of
// the IDs the partition stores (store.IDSketch), or, when the sketch
// cannot tell, the stored IDs themselves.

// storedIDs is what an incremental sync reads of the partition before it
// compares: the IDs it skipped as malformed, the sketch of the IDs it
// stores and, unless the sketch is likely to tell (bySketch), the IDs
// (read true).
type storedIDs struct {
	ids     []string
	read    bool
	sketch  *store.IDSketch
	skipped map[string]struct{}
}

// bySketch tells whether a sync of eco, whose partition keeps sketch, is
// likely to compare by it. A release-filtered partition (Debian:12)
// deliberately leaves out records the list holds, too many to read back.
func bySketch(eco string, sketch *store.IDSketch) bool {
	_, release := splitSelection(eco)
	return release == "" && sketch != nil
}

// readStored reads what an incremental sync of eco compares the source
// with (storedIDs).
func (m *Mirror) readStored(ctx context.Context, eco string) (storedIDs, error) {
	var out storedIDs
	var err error
	if out.sketch, err = m.store.IDSketch(ctx, eco); err != nil {
		return storedIDs{}, err
	}
	if !bySketch(eco, out.sketch) {
		if out.ids, err = m.store.RecordIDs(ctx, eco); err != nil {
			return storedIDs{}, err
		}
		out.read = true
	}
	out.skipped, err = m.store.SkippedIDs(ctx, eco)
	return out, err
}

// comparison is what changed between the partition and the source's list.
type comparison struct {
	changed   []string        // to fetch: the records modified since, then those published late
	removed   []string        // stored records the list no longer names
	unskipped []string        // records skipped as malformed that the list no longer names
	had       map[string]bool // which changed records are stored
	// before is the sketch of the stored IDs when they were read for a
	// partition that keeps none (the delta then stores it); nil otherwise.
	before *store.IDSketch
}

// compare compares the source's list with the partition (its state st,
// and what readStored read). A record changed when the list's time for
// it is after the last sync's watermark, or, unless the partition is
// release-filtered, when the list names it but the partition neither
// stores it nor skipped it as malformed (published late, with an older
// time); removed records are stored but no longer listed.
//
// Usually the sketches tell: the list's less the partition's leaves the
// records removed and those listed but not stored, a few. Else (too many
// differ, or the partition keeps no sketch) the stored IDs are read and
// compared one by one (compareIDs).
func (m *Mirror) compare(ctx context.Context, eco string, st store.PartitionState, l *modifiedList, stored storedIDs) (comparison, error) {
	_, release := splitSelection(eco)
	late := release == ""
	if !stored.read && stored.sketch != nil && l.sketch != nil {
		if removed, unstored, ok := stored.sketch.Diff(l.sketch); ok {
			return bySketches(l, stored.skipped, removed, unstored, late), nil
		}
	}
	if !stored.read {
		var err error
		if stored.ids, err = m.store.RecordIDs(ctx, eco); err != nil {
			return comparison{}, err
		}
	}
	var c comparison
	upstream := l.times()
	c.changed, c.removed, c.had = compareIDs(upstream, slices.Clip(l.changed), stored.ids, stored.skipped, st.Watermark, late)
	c.unskipped = unlisted(stored.skipped, upstream)
	if stored.sketch == nil {
		c.before = store.SketchIDs(stored.ids)
	}
	return c, nil
}

// bySketches is the comparison once the sketches told the records removed
// (stored, not listed) and unstored (listed, not stored).
func bySketches(l *modifiedList, skipped map[string]struct{}, removed, unstored []string, late bool) comparison {
	c := comparison{changed: slices.Clip(l.changed), removed: removed, had: make(map[string]bool, len(l.changed))}
	isChanged := make(map[string]bool, len(l.changed))
	for _, id := range l.changed {
		isChanged[id] = true
		c.had[id] = true
	}
	for _, id := range unstored {
		_, skip := skipped[id]
		switch {
		case isChanged[id]:
			c.had[id] = false
		case late && !skip:
			c.changed = append(c.changed, id)
		}
	}
	c.unskipped = unlisted(skipped, l.timesOf(skipped))
	return c
}

// unlisted returns the IDs skipped as malformed that listed (the list's
// times of the IDs it names) does not name.
func unlisted(skipped map[string]struct{}, listed map[string]time.Time) []string {
	var out []string
	for id := range skipped {
		if _, ok := listed[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// compareIDs compares the source's records (upstream: ID -> modified
// time; changed: those modifiedSince old) with the stored ones (their IDs)
// and those skipped as malformed. A record changed when upstream modified
// it after old, or, with late, when it is upstream but neither stored nor
// skipped (published late with an older timestamp; release-filtered
// partitions deliberately do not store records of other releases): those
// are appended to changed. Records skipped as malformed count as seen: only
// a newer modified time fetches them again. removed are the stored records
// upstream no longer has; had tells which changed records are stored.
//
// The stored IDs are looked up in upstream, not the other way round: no
// set of them is built unless counting says a record was published late.
func compareIDs(upstream map[string]time.Time, changed, stored []string, skipped map[string]struct{}, old time.Time, late bool) (changedAll, removed []string, had map[string]bool) {
	had = make(map[string]bool, len(changed))
	oldStored, oldSkippedStored := 0, 0 // stored records upstream not modified since
	for _, id := range stored {
		mod, ok := upstream[id]
		switch {
		case !ok:
			removed = append(removed, id)
		case mod.After(old):
			had[id] = true
		default:
			oldStored++
			if _, skip := skipped[id]; skip {
				oldSkippedStored++
			}
		}
	}
	if !late {
		return changed, removed, had
	}
	oldSkipped := 0
	for id := range skipped {
		if mod, ok := upstream[id]; ok && !mod.After(old) {
			oldSkipped++
		}
	}
	// Upstream records not modified since, neither stored nor skipped.
	if missing := len(upstream) - len(changed) - oldStored - (oldSkipped - oldSkippedStored); missing == 0 {
		return changed, removed, had
	}
	have := make(map[string]struct{}, len(stored))
	for _, id := range stored {
		have[id] = struct{}{}
	}
	for id, mod := range upstream {
		_, stored := have[id]
		_, skip := skipped[id]
		if !mod.After(old) && !stored && !skip {
			changed = append(changed, id)
		}
	}
	return changed, removed, had
}
