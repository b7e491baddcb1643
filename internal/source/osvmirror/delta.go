package osvmirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/osv"
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

// maxModifiedCSV bounds modified_id.csv (the largest ecosystem's is a few
// megabytes), maxCSVLine one line of it.
const (
	maxModifiedCSV = 256 << 20
	maxCSVLine     = 1 << 20
)

// readModifiedCSV parses "<RFC3339 modified>,<ID>" lines (no header). The
// file is read whole: the IDs are substrings of one string and the map is
// sized from the line count, so the cost is one allocation per map rather
// than one per line.
//
// OSV lists the newest records first: while the file still downloads,
// early (when not nil) is given the IDs of its first lines, as long as
// they are well formed records modified after since and early takes them,
// so that their downloads start before the rest of the file is read. The
// map returned is the whole file's all the same.
func readModifiedCSV(r io.Reader, where string, since time.Time, early func(id string) bool) (map[string]time.Time, error) {
	// Read into a strings.Builder: the IDs are substrings of its string,
	// which is its buffer (no copy of the file into a string).
	var text strings.Builder
	if s, ok := r.(sized); ok && s.size() > 0 && s.size() <= maxModifiedCSV {
		text.Grow(int(s.size()))
	}
	scanned, searched := 0, 0 // lines handed over; bytes searched for the next line break
	seen := func(b string) {
		for early != nil {
			i := strings.IndexByte(b[searched:], '\n')
			if i < 0 {
				searched = len(b)
				if searched-scanned > maxCSVLine {
					early = nil
				}
				return
			}
			end := searched + i
			line := strings.TrimSpace(b[scanned:end])
			scanned, searched = end+1, end+1
			ts, id, ok := strings.Cut(line, ",")
			if len(line) > maxCSVLine || !ok || !validCSVID(id) {
				early = nil
				return
			}
			if t, err := osv.ParseTime(ts); err != nil || !t.After(since) || !early(id) {
				early = nil
			}
		}
	}
	var chunk [32 << 10]byte
	for {
		n, err := r.Read(chunk[:])
		if text.Len()+n > maxModifiedCSV {
			return nil, fmt.Errorf("%s: %w", where, errTooLarge)
		}
		if n > 0 {
			text.Write(chunk[:n])
			seen(text.String())
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
	}
	out := make(map[string]time.Time, strings.Count(text.String(), "\n")+1)
	line := 0
	// Records change in batches: most lines have the previous line's
	// time (506 different times in the corpus's 4,301 Go lines), parsed
	// once.
	var lastTS string
	var last time.Time
	for raw := range strings.SplitSeq(text.String(), "\n") {
		line++
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if len(raw) > maxCSVLine {
			return nil, fmt.Errorf("%s line %d: line too long", where, line)
		}
		ts, id, ok := strings.Cut(raw, ",")
		if !ok || !validCSVID(id) {
			return nil, fmt.Errorf("%s line %d: want \"<modified>,<id>\", got %q", where, line, raw)
		}
		if ts != lastTS || lastTS == "" {
			t, err := osv.ParseTime(ts)
			if err != nil {
				return nil, fmt.Errorf("%s line %d: %w", where, line, err)
			}
			lastTS, last = ts, t.Time
		}
		out[id] = last
	}
	return out, nil
}

// modifiedSince lists the records upstream (ID -> modified time) modified
// after old, the newest modification seen at the last sync (OSV's modified
// only grows), and returns the newest modified time upstream (at least
// old). It needs nothing of the store, so their downloads can start while
// the stored IDs are read.
func modifiedSince(upstream map[string]time.Time, old time.Time) (changed []string, watermark time.Time) {
	watermark = old
	for id, mod := range upstream {
		if mod.After(watermark) {
			watermark = mod
		}
		if mod.After(old) {
			changed = append(changed, id)
		}
	}
	return changed, watermark
}

// validCSVID tells whether id, as modified_id.csv names it, can be a
// record's file name.
func validCSVID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch id[i] {
		case '/', '\\', ',':
			return false
		case '.':
			if i+1 < len(id) && id[i+1] == '.' {
				return false
			}
		}
	}
	return true
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

// storedIDs is what an incremental sync compares upstream with.
type storedIDs struct {
	ids     []string
	skipped map[string]struct{}
}

// incremental applies the changes listed by modified_id.csv since the last
// sync, or falls back to a full import. Its steps overlap where they do
// not depend on each other: the stored IDs are read while modified_id.csv
// downloads and parses; the records modified since the last sync start
// downloading as the file's first lines arrive (readModifiedCSV's early),
// the others once it is parsed, each one checked and compressed as it
// arrives; and the stored rows the delta may replace or delete are read
// (store.ReadDeltaBase) while the downloads finish. b holds the reads
// begun already (earlyStarts).
func (m *Mirror) incremental(ctx context.Context, eco string, st store.PartitionState, parsed func(), b *begun) EcosystemReport {
	base, release := splitSelection(eco)
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
	upstream, err := readModifiedCSV(rc, m.fetch.describe(rel), st.Watermark, dl.add)
	rc.Close()
	if err != nil {
		dl.stop()
		listed()
		return m.full(ctx, eco, err.Error(), parsed)
	}
	changed, watermark := modifiedSince(upstream, st.Watermark)
	limit := max(m.opts.DeltaLimit, len(upstream)/10)
	if len(changed) <= limit {
		dl.finish(changed)
	} else {
		dl.stop()
	}
	stored, err := listed()
	if err != nil {
		return EcosystemReport{Err: err}
	}
	modified := len(changed)
	changed, removed, had := compareIDs(upstream, changed, stored.ids, stored.skipped, st.Watermark, release == "")
	skipped := stored.skipped
	var delta store.Delta
	for id := range skipped {
		if _, ok := upstream[id]; !ok {
			delta.Unskipped = append(delta.Unskipped, id)
		}
	}
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
		Watermark:  watermark,
		Malformed:  rep.MalformedCount,
	})
	if err != nil {
		rep.Err = err
		return rep
	}
	rep.Records, rep.Withdrawn = written.Records, written.Withdrawn
	return rep
}
