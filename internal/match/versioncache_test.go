package match

import (
	"testing"

	"github.com/google/osv-scalibr/semantic"
)

// cachedCompare answers as Compare does, from the cache and afresh, and
// keeps distinct triples apart (the key is a hash).
func TestCachedCompareAgreesWithCompare(t *testing.T) {
	vs := []string{"1.0", "1.0.0", "1.0-SNAPSHOT", "1.0.1", "1.10", "1.9", "2.0.0.RELEASE", "2.0-rc1", "0.0.0-1", "10"}
	for _, ordering := range []string{"Maven", "Packagist", "RubyGems"} {
		parsed := map[string]semantic.Version{}
		for _, s := range vs {
			v, err := semantic.Parse(s, ordering)
			if err != nil {
				t.Fatalf("%s %q: %v", ordering, s, err)
			}
			parsed[s] = v
		}
		for round := range 2 { // the second round is answered from the cache
			for _, a := range vs {
				for _, b := range vs {
					want, err := parsed[a].Compare(parsed[b])
					if err != nil {
						t.Fatal(err)
					}
					got, err := cachedCompare(ordering, a, b, parsed[a], parsed[b])
					if err != nil || got != want {
						t.Fatalf("round %d %s %q vs %q: %d %v, want %d", round, ordering, a, b, got, err, want)
					}
				}
			}
		}
	}
	if compareKeyOf("Maven", "1", "2") == compareKeyOf("Maven", "2", "1") || compareKeyOf("Maven", "1", "2") == compareKeyOf("Packagist", "1", "2") {
		t.Fatal("distinct triples share a key")
	}
}
