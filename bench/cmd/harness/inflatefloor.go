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
	"slices"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"

	"github.com/vulngate/vulngate/bench/internal/corpus"
	"github.com/vulngate/vulngate/internal/cputime"
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
// process has CPUs, the fastest way this program knows: each goroutine
// resets one DEFLATE decoder (the one vulngate uses) over the entry's
// compressed bytes in place, inflates into one reused buffer and checks
// the CRC-32, as vulngate's import does. The bytes are then dropped. It
// prints its own wall and CPU time to out.
func inflateFloorChild(dir string, out io.Writer) int {
	ecos, err := corpus.Ecosystems(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "inflate floor:", err)
		return 2
	}
	cpu0, _ := cputime.Process()
	start := time.Now()
	type entry struct {
		name string
		raw  []byte
		crc  uint32
		size uint64
	}
	var entries []entry
	for _, eco := range ecos {
		data, err := os.ReadFile(corpus.ZipPath(dir, eco))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "inflate floor:", err)
			return 1
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			fmt.Fprintf(os.Stderr, "inflate floor: %s: %v\n", eco, err)
			return 1
		}
		for _, f := range zr.File {
			off, err := f.DataOffset()
			if err != nil || f.Method != zip.Deflate || off+int64(f.CompressedSize64) > int64(len(data)) {
				fmt.Fprintf(os.Stderr, "inflate floor: %s/%s: not a stored DEFLATE entry (%v)\n", eco, f.Name, err)
				return 1
			}
			entries = append(entries, entry{f.Name, data[off : off+int64(f.CompressedSize64)], f.CRC32, f.UncompressedSize64})
		}
	}
	jobs := make(chan entry, 256)
	var mu sync.Mutex
	var firstErr error
	var total int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			fr := flate.NewReader(bytes.NewReader(nil))
			var buf []byte
			var n int64
			for e := range jobs {
				var err error
				buf, err = inflateInto(fr, e.raw, buf[:0], int(e.size))
				if err == nil && crc32.ChecksumIEEE(buf) != e.crc {
					err = errors.New("CRC-32 mismatch")
				}
				n += int64(len(buf))
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s: %w", e.name, err)
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	for _, e := range entries {
		jobs <- e
	}
	close(jobs)
	wg.Wait()
	wall := time.Since(start)
	cpu1, _ := cputime.Process()
	if firstErr != nil {
		fmt.Fprintln(os.Stderr, "inflate floor:", firstErr)
		return 1
	}
	fmt.Fprintf(out, "%s%s, %s CPU (%d entries, %d bytes inflated, %d goroutines)\n", inflateLine, wall, cpu1-cpu0, len(entries), total, runtime.GOMAXPROCS(0))
	return 0
}

// inflateInto inflates raw with the decoder fr into buf, grown to size
// first, and returns what it holds.
func inflateInto(fr io.ReadCloser, raw, buf []byte, size int) ([]byte, error) {
	if err := fr.(flate.Resetter).Reset(bytes.NewReader(raw), nil); err != nil {
		return buf, err
	}
	buf = slices.Grow(buf, size+1)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 4096)
		}
		m, err := fr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
