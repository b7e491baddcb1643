package osvmirror

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"runtime"
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
func (m *Mirror) full(ctx context.Context, eco, fallback string) (rep EcosystemReport) {
	rep.Mode, rep.Fallback = ModeFull, fallback
	base, _ := splitSelection(eco)
	rel := base + "/all.zip"
	where := m.fetch.describe(rel)
	p, cleanup, err := m.fetch.local(ctx, rel, m.opts.TempDir)
	if err != nil {
		rep.Err = fmt.Errorf("%s: %w", eco, err)
		return rep
	}
	defer cleanup()
	zr, err := zip.OpenReader(p)
	if err != nil {
		rep.Err = fmt.Errorf("%s: %s is not a readable zip archive (corrupt or truncated?): %w", eco, where, err)
		return rep
	}
	defer zr.Close()

	prev, err := m.store.RecordVersions(ctx, eco)
	if err != nil {
		rep.Err = err
		return rep
	}
	im, err := m.store.BeginImport(ctx, eco, SourceLabel)
	if err != nil {
		rep.Err = err
		return rep
	}
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
	prog.Start(eco, len(zr.File))
	defer prog.Finish()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := m.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan *zip.File, 4*workers)
	results := make(chan entryResult, 4*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 64<<10)
			for f := range jobs {
				var r entryResult
				r, buf = readEntry(f, eco, buf)
				select {
				case results <- r:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, f := range zr.File {
			select {
			case jobs <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	var watermark time.Time
	seen := make(map[string]struct{}, len(zr.File))
	for r := range results {
		prog.Add(1)
		switch {
		case r.fatal != nil:
			rep.Err = fmt.Errorf("%s: %s: %w", eco, where, r.fatal)
			cancel()
			for range results {
			}
			return rep
		case r.malformed != "":
			rep.malformed(r.name, r.malformed)
			continue
		}
		if r.modified.After(watermark) {
			watermark = r.modified
		}
		if !r.keep {
			continue
		}
		if _, dup := seen[r.rec.ID]; dup {
			rep.malformed(r.name, "duplicate id "+r.rec.ID)
			continue
		}
		seen[r.rec.ID] = struct{}{}
		if old, ok := prev[r.rec.ID]; !ok {
			rep.Added++
		} else if !old.Equal(r.rec.Modified) {
			rep.Updated++
		}
		rep.Records++
		if r.rec.Withdrawn {
			rep.Withdrawn++
		}
		if err := im.Add(ctx, r.rec); err != nil {
			rep.Err = err
			cancel()
			for range results {
			}
			return rep
		}
	}
	if err := ctx.Err(); err != nil {
		rep.Err = fmt.Errorf("%s: import interrupted: %w", eco, err)
		return rep
	}
	for id := range prev {
		if _, ok := seen[id]; !ok {
			rep.Removed++
		}
	}
	err = im.Commit(ctx, store.PartitionState{
		BaseURL:   m.opts.BaseURL,
		LastSync:  m.opts.Now(),
		Watermark: watermark,
		Records:   rep.Records,
		Withdrawn: rep.Withdrawn,
		Malformed: rep.MalformedCount,
	})
	if err != nil {
		rep.Err = err
		return rep
	}
	committed = true
	return rep
}

// readEntry reads and parses one zip entry. buf is reused between calls.
func readEntry(f *zip.File, eco string, buf []byte) (entryResult, []byte) {
	r := entryResult{name: f.Name}
	if reason := checkEntryName(f.Name); reason != "" {
		r.malformed = reason
		return r, buf
	}
	if f.UncompressedSize64 > maxRecordSize {
		r.malformed = fmt.Sprintf("declared size %d bytes exceeds the %d byte limit", f.UncompressedSize64, maxRecordSize)
		return r, buf
	}
	if f.UncompressedSize64 > 1<<20 && f.CompressedSize64 > 0 && f.UncompressedSize64/f.CompressedSize64 > maxRatio {
		r.malformed = fmt.Sprintf("compression ratio %d:1 looks like a zip bomb", f.UncompressedSize64/f.CompressedSize64)
		return r, buf
	}
	data, deflated, err := readZipEntry(f, buf)
	switch {
	case errors.Is(err, errTooLarge):
		r.malformed = fmt.Sprintf("uncompressed size exceeds the %d byte limit", maxRecordSize)
		return r, buf
	case err != nil:
		// Checksum and inflate errors mean the archive is damaged.
		r.fatal = fmt.Errorf("entry %s: %w", f.Name, err)
		return r, buf
	}
	v, err := osv.ParseHeader(data)
	if err != nil {
		r.malformed = err.Error()
		return r, buf
	}
	if want := strings.TrimSuffix(path.Base(f.Name), ".json"); v.ID != want {
		r.malformed = fmt.Sprintf("entry name does not match record id %q", v.ID)
		return r, buf
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
	return r, buf
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

// readZipEntry returns an entry's inflated bytes and, for DEFLATE entries,
// its raw compressed bytes, which the store keeps as they are. The CRC-32
// in the archive is verified.
func readZipEntry(f *zip.File, buf []byte) (data, deflated []byte, err error) {
	if f.Method != zip.Deflate {
		rc, err := f.Open()
		if err != nil {
			return nil, nil, err
		}
		defer rc.Close()
		var b []byte
		if _, err := readAllLimited(rc, &b, maxRecordSize); err != nil {
			return nil, nil, err
		}
		return b, nil, nil
	}
	raw, err := f.OpenRaw()
	if err != nil {
		return nil, nil, err
	}
	if f.CompressedSize64 > maxRecordSize {
		return nil, nil, errTooLarge
	}
	deflated = make([]byte, f.CompressedSize64)
	if _, err := io.ReadFull(raw, deflated); err != nil {
		return nil, nil, err
	}
	fr := flate.NewReader(bytes.NewReader(deflated))
	defer fr.Close()
	var b []byte
	if f.UncompressedSize64 < maxRecordSize {
		b = make([]byte, 0, f.UncompressedSize64+1)
	}
	if _, err := readAllLimited(fr, &b, maxRecordSize); err != nil {
		return nil, nil, err
	}
	if crc32.ChecksumIEEE(b) != f.CRC32 {
		return nil, nil, zip.ErrChecksum
	}
	return b, deflated, nil
}

func readAllLimited(r io.Reader, buf *[]byte, limit int) (int, error) {
	b := *buf
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
