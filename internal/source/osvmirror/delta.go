package osvmirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/vulngate/vulngate/internal/store"
)

// fetchWorkers bounds concurrent per-record downloads; a delta starts one
// worker per recordsPerWorker records up to that bound. Each worker over
// HTTP/1.1 is a connection of its own (dialled, two transport goroutines),
// which for a small delta cost more than the downloads: the corpus's
// 25-record delta over loopback took 2.1-2.4 ms of CPU to fetch with 16
// workers, 1.7-1.9 ms with 4. Over HTTP/2 the workers share a connection,
// and fewer of them only means more round trips in a row (7 instead of 2
// for 25 records), a fraction of a second even far from the bucket.
const (
	fetchWorkers     = 16
	recordsPerWorker = 8
)

// async runs fn on a goroutine of its own; the function returned waits for
// its result (and may be called again).
func async[T any](fn func() (T, error)) func() (T, error) {
	var v T
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		v, err = fn()
	}()
	return func() (T, error) {
		<-done
		return v, err
	}
}

// incremental applies the changes listed by modified_id.csv since the last
// sync, or falls back to a full import. Its steps overlap where they do
// not depend on each other: what the list is compared with (storedIDs) is
// read while modified_id.csv downloads and parses; the records modified
// since the last sync start downloading as the file's first lines arrive
// (readModifiedCSV's early), the others once it is parsed, each one
// checked and compressed as it arrives; and the comparison (compare) and
// the stored rows the delta may replace or delete (store.ReadDeltaBase)
// are read while the downloads finish. b holds the reads begun already
// (earlyStarts).
func (m *Mirror) incremental(ctx context.Context, eco string, st store.PartitionState, parsed func(), b *begun) EcosystemReport {
	base, _ := splitSelection(eco)
	listed := b.stored
	if listed == nil {
		listed = async(func() (storedIDs, error) { return m.readStored(ctx, eco) })
	}
	defer listed() // nothing outlives the sync
	rel := base + "/modified_id.csv"
	list := b.takeList()
	if list == nil {
		list = func() (io.ReadCloser, error) { return m.fetch.open(ctx, rel) }
	}
	rc, err := list()
	if err != nil {
		if errors.Is(err, errNotFound) {
			listed()
			return m.full(ctx, eco, "no modified_id.csv at the source", parsed)
		}
		return EcosystemReport{Err: fmt.Errorf("%s: %w", eco, err)}
	}
	dl := m.startDownloads(ctx, base)
	defer dl.stop()
	lst, err := readModifiedCSV(rc, m.fetch.describe(rel), st.Watermark, dl.add)
	rc.Close()
	if err != nil {
		dl.stop()
		listed()
		return m.full(ctx, eco, err.Error(), parsed)
	}
	limit := max(m.opts.DeltaLimit, lst.lines/10)
	if len(lst.changed) <= limit {
		dl.finish(lst.changed)
	} else {
		dl.stop()
	}
	stored, err := listed()
	if err != nil {
		return EcosystemReport{Err: err}
	}
	c, err := m.compare(ctx, eco, st, lst, stored)
	if err != nil {
		return EcosystemReport{Err: err}
	}
	modified := len(lst.changed)
	changed, removed, had := c.changed, c.removed, c.had
	delta := store.Delta{Unskipped: c.unskipped}
	rep := EcosystemReport{Mode: ModeIncremental}
	if len(changed) == 0 && len(removed) == 0 && len(delta.Unskipped) == 0 {
		rep.Mode, rep.Records, rep.Withdrawn = ModeUnchanged, st.Records, st.Withdrawn
		if err := m.store.TouchPartition(ctx, eco, m.opts.Now()); err != nil {
			rep.Err = err
		}
		return rep
	}
	if len(changed)+len(removed) > limit {
		dl.stop()
		return m.full(ctx, eco, fmt.Sprintf("%d changes exceed the incremental limit of %d", len(changed)+len(removed), limit), parsed)
	}
	// The stored rows the delta may replace or delete are read while the
	// records download.
	based := async(func() (*store.DeltaBase, error) {
		return m.store.ReadDeltaBase(ctx, eco, st.Generation, slices.Concat(changed, removed))
	})
	dropBase := func() { // unless ApplyDelta took it (and closes it)
		if b, _ := based(); b != nil && delta.Base == nil {
			b.Close()
		}
	}
	defer dropBase()
	fetched, err := dl.wait()
	if err == nil && len(changed) > modified { // published late
		var more map[string]fetchedRecord
		if more, err = m.fetchRecords(ctx, base, changed[modified:]); err == nil {
			if fetched == nil {
				fetched = more
			} else {
				maps.Copy(fetched, more)
			}
		}
	}
	if errors.Is(err, errNotFound) {
		dropBase() // its connection is not held through the import
		return m.full(ctx, eco, "per-record files unavailable: "+err.Error(), parsed)
	}
	if err != nil {
		rep.Err = fmt.Errorf("%s: %w", eco, err)
		return rep
	}
	var upserts []store.Record
	skipped := stored.skipped
	for _, id := range changed {
		f := fetched[id]
		if f.malformed != "" {
			rep.malformed(base+"/"+id+".json", f.malformed)
			delta.Skipped = append(delta.Skipped, store.Skipped{ID: id, Reason: f.malformed})
			continue
		}
		if _, ok := skipped[id]; ok {
			delta.Unskipped = append(delta.Unskipped, id)
		}
		keys, keep := keysFor(f.v, eco)
		if !keep {
			if had[id] {
				removed = append(removed, id)
			}
			continue
		}
		if had[id] {
			rep.Updated++
		} else {
			rep.Added++
		}
		upserts = append(upserts, recordFor(f.v, keys, f.data, f.deflated))
	}
	rep.Removed = len(removed)
	delta.Upserts, delta.Deletes = upserts, removed
	if delta.Base, err = based(); err != nil {
		rep.Err = err
		return rep
	}
	written, err := m.store.ApplyDelta(ctx, eco, delta, store.PartitionState{
		Generation: st.Generation,
		BaseURL:    m.opts.BaseURL,
		LastSync:   m.opts.Now(),
		Watermark:  lst.watermark,
		Malformed:  rep.MalformedCount,
		Sketch:     c.before,
	})
	if err != nil {
		rep.Err = err
		return rep
	}
	rep.Records, rep.Withdrawn = written.Records, written.Withdrawn
	rep.Changed = make([]string, 0, len(upserts)+len(removed))
	for _, r := range upserts {
		rep.Changed = append(rep.Changed, r.ID)
	}
	rep.Changed = append(rep.Changed, removed...)
	slices.Sort(rep.Changed)
	return rep
}
