package osvmirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/store"
)

// Limits that protect the import from hostile archives.
const (
	// maxRecordSize bounds one record's uncompressed size; real records are
	// a few KiB, the largest known are a few MiB.
	maxRecordSize = 32 << 20
	// maxRatio bounds compression ratio for entries over 1 MiB.
	maxRatio = 200
)

// entryChunk is how many zip entries a worker takes at a time.
const entryChunk = 8

// entryResult is what a worker produces for one zip entry.
type entryResult struct {
	rec       store.Record
	keep      bool
	modified  time.Time
	malformed string // reason, when the entry is skipped
	name      string
	fatal     error // the archive itself is corrupt
}

// full imports <base>/all.zip into a new generation of the partition.
// Memory stays bounded whatever the archive's size: the central directory
// is walked entry by entry, records flow through small channels, and the
// store writes them in batches. parsed is called once every record was
// read, parsed and handed to the store.
func (m *Mirror) full(ctx context.Context, eco, fallback string, parsed func()) (rep EcosystemReport) {
	rep.Mode, rep.Fallback = ModeFull, fallback
	base, _ := splitSelection(eco)
	rel := base + "/all.zip"
	where := m.fetch.describe(rel)
	p, cleanup, err := m.fetch.local(ctx, rel, m.opts.TempDir)
	if err != nil {
		rep.Err = fmt.Errorf("%s: %w", eco, err)
		return rep
	}
	z, err := openZip(p)
	if err != nil {
		cleanup()
		rep.Err = fmt.Errorf("%s: %s is not a readable zip archive: %w", eco, where, err)
		return rep
	}
	if m.opts.BeforeFull != nil {
		m.opts.BeforeFull()
	}
	// The archive (a downloaded copy, when the source is remote) is given
	// up once every entry is read: the import may then wait a while for
	// the writer, which other imports in flight share (Sync), and holds
	// only its queued records meanwhile.
	release := sync.OnceFunc(func() {
		z.Close()
		cleanup()
	})
	defer release()

	im, err := m.store.BeginImport(ctx, eco, SourceLabel)
	if err != nil {
		rep.Err = err
		return rep
	}
	im.ShareCPUs(m.cpus)
	committed := false
	defer func() {
		if !committed {
			// Use a fresh context: ctx may be what was cancelled.
			actx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if aerr := im.Abort(actx); aerr != nil {
				m.log.Warn("discarding partial import failed; it will be collected later", "ecosystem", eco, "err", aerr)
			}
		}
	}()

	prog := m.progress()
	prog.Start(eco, z.Count())
	defer prog.Finish()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := m.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Entries go to the workers, and their results come back, in chunks
	// of entryChunk: a channel operation (and a CPU token) per chunk
	// rather than per record.
	jobs := make(chan []zipEntry, workers)
	results := make(chan []entryResult, 2*workers)
	walkErr := make(chan error, 1)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte // this worker's inflate buffer
			for chunk := range jobs {
				if m.cpus != nil && m.cpus.Acquire(ctx, false) != nil {
					return
				}
				out := make([]entryResult, len(chunk))
				for i, e := range chunk {
					out[i] = readEntry(z, e, eco, &buf)
				}
				if m.cpus != nil {
					m.cpus.Release()
				}
				select {
				case results <- out:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		var win zipWindow
		var chunk []zipEntry
		send := func() error {
			select {
			case jobs <- chunk:
				chunk = nil
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := z.walk(func(e zipEntry) error {
			win.prefetch(z, &e, maxRecordSize)
			if chunk = append(chunk, e); len(chunk) < entryChunk {
				return nil
			}
			return send()
		})
		if err == nil && len(chunk) > 0 {
			err = send()
		}
		walkErr <- err
	}()
	go func() { wg.Wait(); close(results) }()

	var watermark time.Time
	attempted := 0
	fail := func(err error) EcosystemReport {
		rep.Err = err
		cancel()
		for range results {
		}
		return rep
	}
	for rs := range results {
		for _, r := range rs {
			prog.Add(1)
			switch {
			case r.fatal != nil:
				return fail(fmt.Errorf("%s: %s: %w", eco, where, r.fatal))
			case r.malformed != "":
				rep.malformed(r.name, r.malformed)
				if checkEntryName(r.name) == "" {
					im.Skip(strings.TrimSuffix(r.name, ".json"), r.malformed)
				}
				continue
			}
			if r.modified.After(watermark) {
				watermark = r.modified
			}
			if !r.keep {
				continue
			}
			attempted++
			if err := im.Add(ctx, r.rec); err != nil {
				return fail(err)
			}
		}
	}
	err = <-walkErr
	release()
	parsed()
	if err != nil && !errors.Is(err, context.Canceled) {
		rep.Err = fmt.Errorf("%s: %s: %w", eco, where, err)
		return rep
	}
	if err := ctx.Err(); err != nil {
		rep.Err = fmt.Errorf("%s: import interrupted: %w", eco, err)
		return rep
	}
	stats, err := im.Commit(ctx, store.PartitionState{
		BaseURL:   m.opts.BaseURL,
		LastSync:  m.opts.Now(),
		Watermark: watermark,
		Malformed: rep.MalformedCount,
	})
	if err != nil {
		rep.Err = err
		return rep
	}
	committed = true
	if dup := attempted - stats.Records; dup > 0 {
		rep.malformedN(rel, fmt.Sprintf("%d entries repeat an ID already imported; the first was kept", dup), dup)
	}
	rep.Records, rep.Withdrawn = stats.Records, stats.Withdrawn
	rep.Added, rep.Updated, rep.Removed = stats.Added, stats.Updated, stats.Removed
	return rep
}

// readEntry reads and parses one zip entry. The record's JSON is inflated
// into *buf, which is reused for the next entry: only the compressed bytes
// are kept.
func readEntry(z *zipArchive, e zipEntry, eco string, buf *[]byte) entryResult {
	r := entryResult{name: e.name}
	if reason := checkEntryName(e.name); reason != "" {
		r.malformed = reason
		return r
	}
	if e.usize > maxRecordSize {
		r.malformed = fmt.Sprintf("declared size %d bytes exceeds the %d byte limit", e.usize, maxRecordSize)
		return r
	}
	if e.usize > 1<<20 && e.csize > 0 && e.usize/e.csize > maxRatio {
		r.malformed = fmt.Sprintf("compression ratio %d:1 looks like a zip bomb", e.usize/e.csize)
		return r
	}
	data, deflated, err := z.read(e, maxRecordSize, buf)
	switch {
	case errors.Is(err, errTooLarge):
		r.malformed = fmt.Sprintf("uncompressed size exceeds the %d byte limit", maxRecordSize)
		return r
	case errors.Is(err, errUnsupportedEntry):
		r.malformed = err.Error()
		return r
	case err != nil:
		// Checksum, inflate and structure errors mean the archive is damaged.
		r.fatal = err
		return r
	}
	v, err := osv.ParseHeader(data)
	if err != nil {
		r.malformed = err.Error()
		return r
	}
	if want := strings.TrimSuffix(e.name, ".json"); v.ID != want {
		r.malformed = fmt.Sprintf("entry name does not match record id %q", v.ID)
		return r
	}
	r.modified = v.Modified.Time
	keys, keep := keysFor(v, eco)
	r.keep = keep
	if keep {
		if deflated == nil {
			deflated = store.Deflate(data)
		}
		r.rec = recordFor(v, keys, nil, deflated)
	}
	return r
}

// checkEntryName rejects names that could escape a directory or are not
// records. Entries are never written to disk, but such names signal a
// hostile or broken archive and are reported.
func checkEntryName(name string) string {
	switch {
	case strings.Contains(name, "\\") || strings.HasPrefix(name, "/"):
		return "unsafe entry name"
	case strings.Contains(name, "/"):
		for _, part := range strings.Split(name, "/") {
			if part == ".." {
				return "entry name contains \"..\""
			}
		}
		return "entry is not at the archive root"
	case name == ".." || strings.HasPrefix(name, ".."):
		return "entry name contains \"..\""
	case !strings.HasSuffix(name, ".json"):
		return "entry is not a .json record"
	}
	return ""
}

var errTooLarge = errors.New("too large")

// readAllLimited appends r's content to *buf, failing with errTooLarge
// beyond limit bytes. When r tells its size (sized), *buf is grown to hold
// it at once instead of by doublings.
func readAllLimited(r io.Reader, buf *[]byte, limit int) (int, error) {
	b := *buf
	if s, ok := r.(sized); ok {
		if n := s.size(); n > 0 && n <= int64(limit) && int64(cap(b)-len(b)) <= n {
			b = slices.Grow(b, int(n)+1) // +1: the read that finds EOF needs room
		}
	}
	for {
		if len(b) == cap(b) {
			if len(b) > limit {
				*buf = b
				return len(b), errTooLarge
			}
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if len(b) > limit {
			*buf = b
			return len(b), errTooLarge
		}
		if err == io.EOF {
			*buf = b
			return len(b), nil
		}
		if err != nil {
			*buf = b
			return len(b), err
		}
	}
}
