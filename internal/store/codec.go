package store

import (
	"bytes"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// Advisory documents are stored compressed with raw DEFLATE, the same
// encoding zip entries use, so an import can store an all.zip entry's bytes
// without recompressing them.

var writers = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

// Deflate compresses a document for storage.
func Deflate(data []byte) []byte {
	w := writers.Get().(*flate.Writer)
	defer writers.Put(w)
	var buf bytes.Buffer
	w.Reset(&buf)
	w.Write(data)
	w.Close()
	return buf.Bytes()
}

// DeflateAlone compresses one document for storage as Deflate does, with
// no compressor kept (flate.StatelessDeflate), for a process that
// compresses a few documents (an incremental sync's downloads). Its hash
// table is a 16 KB array cleared per document; the level-1 compressor
// Deflate pools has a 128 KB table that a fresh process pays for at first
// use: the table is read before it is written, so each of its 32 pages
// faults twice (a zero page, then a copy, with a TLB flush on every CPU
// running the process). For OSV's documents (a few KB) the output is as
// small (the corpus's 25-record Go delta: 16,852 bytes stored instead of
// 16,950) and the work per document the same.
func DeflateAlone(data []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(data)/2 + 64)
	flate.StatelessDeflate(&buf, data, true, nil)
	return buf.Bytes()
}

// maxDocument bounds an inflated document.
const maxDocument = 64 << 20

// inflaters reuses DEFLATE decompressors, whose state is large (a fresh
// one per document was a third of the bytes a scan allocated).
var inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// Inflate decompresses a stored document.
func Inflate(data []byte) ([]byte, error) {
	return InflateInto(nil, data)
}

// InflateInto is Inflate into buf's storage, grown as needed: a caller
// done with each document before the next (a parser that copies what it
// keeps) inflates them all into one buffer.
func InflateInto(buf, data []byte) ([]byte, error) {
	r := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(data), nil); err != nil {
		return nil, fmt.Errorf("store: corrupt advisory document: %w", err)
	}
	// Documents compress 3-6:1; starting near the final size saves the
	// doublings of a growing buffer.
	out, err := readAll(io.LimitReader(r, maxDocument+1), buf[:0], 4*len(data)+512)
	if err != nil {
		return nil, fmt.Errorf("store: corrupt advisory document: %w", err)
	}
	if len(out) > maxDocument {
		return nil, fmt.Errorf("store: advisory document exceeds %d bytes", maxDocument)
	}
	return out, nil
}

// readAll is io.ReadAll appending to b, with a starting capacity.
func readAll(r io.Reader, b []byte, size int) ([]byte, error) {
	if cap(b) < size {
		b = make([]byte, 0, size)
	}
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
