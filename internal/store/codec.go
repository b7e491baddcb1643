package store

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"sync"
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
	var buf bytes.Buffer
	w := writers.Get().(*flate.Writer)
	w.Reset(&buf)
	w.Write(data)
	w.Close()
	writers.Put(w)
	return buf.Bytes()
}

// maxDocument bounds an inflated document.
const maxDocument = 64 << 20

// Inflate decompresses a stored document.
func Inflate(data []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(data))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("store: corrupt advisory document: %w", err)
	}
	if len(out) > maxDocument {
		return nil, fmt.Errorf("store: advisory document exceeds %d bytes", maxDocument)
	}
	return out, nil
}
