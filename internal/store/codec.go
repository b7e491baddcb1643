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
	d := NewDeflater()
	defer d.Close()
	return d.Deflate(data)
}

// Deflater compresses documents for storage one after another with one
// compressor, taken from the pool Deflate uses and given back by Close. A
// goroutine that compresses documents between waits (as they download)
// may wake on another CPU each time, whose share of the pool is empty:
// each compressor it made there is a few hundred kilobytes of fresh
// memory.
type Deflater struct{ w *flate.Writer }

// NewDeflater takes a compressor from the pool.
func NewDeflater() *Deflater { return &Deflater{w: writers.Get().(*flate.Writer)} }

// Deflate compresses one document.
func (d *Deflater) Deflate(data []byte) []byte {
	var buf bytes.Buffer
	d.w.Reset(&buf)
	d.w.Write(data)
	d.w.Close()
	return buf.Bytes()
}

// Close gives the compressor back to the pool; d is not used after.
func (d *Deflater) Close() {
	writers.Put(d.w)
	d.w = nil
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
