package main

// The full import's raw limit: every record of the corpus inflated, and
// nothing else done with it.

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/vulngate/vulngate/bench/internal/corpus"
	"github.com/vulngate/vulngate/internal/store"
)

// inflateFloorEnv names the corpus directory a copy of this program
// started with it inflates (inflateFloorChild) instead of running the
// harness.
const inflateFloorEnv = "VULNGATE_BENCH_INFLATE_FLOOR"

// inflateLine starts the line inflateFloorChild prints its own time on.
const inflateLine = "inflated in "

// inflateFloor measures the floor of a full import of the corpus: any
// importer must inflate every record to read it, so a fresh process does
// only that (inflateFloorChild), timing itself as the mirror's "synced in"
// does.
func (h *harness) inflateFloor(name string) (run, error) {
	self, err := os.Executable()
	if err != nil {
		return run{}, err
	}
	return h.measure(name, []string{inflateFloorEnv + "=" + h.cfg.corpus}, nil, self)
}

// inflateFloorChild reads each ecosystem's all.zip of the corpus at dir
// into memory and inflates every entry on as many goroutines as the
// process has CPUs with vulngate's own inflate (store.InflateInto: a
// pooled decoder over the entry's compressed bytes in place, into one
// reused buffer per goroutine), checking the CRC-32 as vulngate's import
// does. The bytes are then dropped. It prints its own wall and CPU time to
// out.
func inflateFloorChild(dir string, out io.Writer) int {
	ecos, err := corpus.Ecosystems(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "inflate floor:", err)
		return 2
	}
	return timeItself(out, "inflate floor", inflateLine, func() (string, error) {
		type entry struct {
			name string
			raw  []byte
			crc  uint32
		}
		var entries []entry
		for _, eco := range ecos {
			data, err := os.ReadFile(corpus.ZipPath(dir, eco))
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				return "", err
			}
			zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				return "", fmt.Errorf("%s: %w", eco, err)
			}
			for _, f := range zr.File {
				off, err := f.DataOffset()
				if err != nil || f.Method != zip.Deflate || off+int64(f.CompressedSize64) > int64(len(data)) {
					return "", fmt.Errorf("%s/%s: not a stored DEFLATE entry (%v)", eco, f.Name, err)
				}
				entries = append(entries, entry{f.Name, data[off : off+int64(f.CompressedSize64)], f.CRC32})
			}
		}
		jobs := make(chan entry, 256)
		var total atomic.Int64
		var failed firstError
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				var buf []byte
				for e := range jobs {
					var err error
					buf, err = store.InflateInto(buf, e.raw)
					if err == nil && crc32.ChecksumIEEE(buf) != e.crc {
						err = errors.New("CRC-32 mismatch")
					}
					if err != nil {
						failed.set(fmt.Errorf("%s: %w", e.name, err))
					}
					total.Add(int64(len(buf)))
				}
			})
		}
		for _, e := range entries {
			jobs <- e
		}
		close(jobs)
		wg.Wait()
		return fmt.Sprintf("%d entries, %d bytes inflated, %d goroutines", len(entries), total.Load(), runtime.GOMAXPROCS(0)), failed.err
	})
}
