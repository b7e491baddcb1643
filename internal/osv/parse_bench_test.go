package osv_test

import (
	"archive/zip"
	"io"
	"path/filepath"
	"testing"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// BenchmarkParse parses the first 1,000 records of a few ecosystems of
// the shared corpus (ns/op is per record).
func BenchmarkParse(b *testing.B) { benchmarkParse(b, osv.Parse) }

// BenchmarkParseLean is BenchmarkParse without references and credits.
func BenchmarkParseLean(b *testing.B) { benchmarkParse(b, osv.ParseLean) }

func benchmarkParse(b *testing.B, parse func([]byte) (*osv.Vulnerability, error)) {
	dir := corpus.Dir(b)
	var docs [][]byte
	for _, eco := range []string{"PyPI", "Maven", "npm", "Go"} {
		z, err := zip.OpenReader(filepath.Join(dir, eco, "all.zip"))
		if err != nil {
			b.Fatal(err)
		}
		for i, f := range z.File {
			if i == 250 {
				break
			}
			r, err := f.Open()
			if err != nil {
				b.Fatal(err)
			}
			data, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				b.Fatal(err)
			}
			docs = append(docs, data)
		}
		z.Close()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := parse(docs[i%len(docs)]); err != nil {
			b.Fatal(err)
		}
	}
}
