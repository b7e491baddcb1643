package osv

import (
	"archive/zip"
	"io"
	"path/filepath"
	"testing"

	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// eachCorpusRecord calls fn with each record of the shared corpus's
// all.zip of each of ecos, at most limit of each (0: all of them).
func eachCorpusRecord(t testing.TB, ecos []string, limit int, fn func(eco, name string, data []byte)) {
	t.Helper()
	dir := corpus.Dir(t)
	for _, eco := range ecos {
		z, err := zip.OpenReader(filepath.Join(dir, eco, "all.zip"))
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range z.File {
			if limit > 0 && i == limit {
				break
			}
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
			fn(eco, f.Name, data)
		}
		z.Close()
	}
}

// EachCorpusRecord is eachCorpusRecord for the external tests (the
// benchmarks).
var EachCorpusRecord = eachCorpusRecord
