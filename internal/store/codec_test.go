package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestDeflateAloneInflates: documents compressed by DeflateAlone (empty,
// small, a typical record, and larger than its 32 KB block, random and
// repetitive) inflate back to themselves, and compress about as well as
// Deflate's.
func TestDeflateAloneInflates(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 100_000)
	for i := range random {
		random[i] = byte(rng.IntN(256))
	}
	var record bytes.Buffer
	for i := range 40 {
		fmt.Fprintf(&record, `{"id":"GO-2024-%04d","affected":[{"package":{"ecosystem":"Go","name":"example.com/m%d"}}]},`, i, i%7)
	}
	docs := map[string][]byte{
		"empty":      nil,
		"one byte":   []byte("{"),
		"record":     record.Bytes(),
		"repetitive": bytes.Repeat(record.Bytes(), 30),
		"random":     random,
	}
	for name, doc := range docs {
		alone, pooled := DeflateAlone(doc), Deflate(doc)
		got, err := Inflate(alone)
		if err != nil || !bytes.Equal(got, doc) {
			t.Errorf("%s: %d bytes back (%v), want %d", name, len(got), err, len(doc))
		}
		if len(alone) > len(pooled)+len(pooled)/10+16 {
			t.Errorf("%s: %d bytes compressed, Deflate's %d", name, len(alone), len(pooled))
		}
	}
}
