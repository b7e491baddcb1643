package osv_test

import (
	"testing"

	"github.com/vulngate/vulngate/internal/osv"
)

// BenchmarkParse parses the first 1,000 records of a few ecosystems of
// the shared corpus (ns/op is per record).
func BenchmarkParse(b *testing.B) { benchmarkParse(b, osv.Parse) }

// BenchmarkParseLean is BenchmarkParse without references and credits.
func BenchmarkParseLean(b *testing.B) { benchmarkParse(b, osv.ParseLean) }

func benchmarkParse(b *testing.B, parse func([]byte) (*osv.Vulnerability, error)) {
	var docs [][]byte
	osv.EachCorpusRecord(b, []string{"PyPI", "Maven", "npm", "Go"}, 250, func(_, _ string, data []byte) {
		docs = append(docs, data)
	})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := parse(docs[i%len(docs)]); err != nil {
			b.Fatal(err)
		}
	}
}
