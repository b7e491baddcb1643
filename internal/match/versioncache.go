package match

import (
	"hash/maphash"
	"sync"

	"github.com/google/osv-scalibr/semantic"
)

// Parsed versions are cached: a scan evaluates the same range boundaries
// ("introduced: 0", the fixed versions of popular packages) for many
// components, and parsing them was a fifth of a large scan's CPU time.
// semantic.Version values are read-only after parsing, so they are shared
// between goroutines. The cache is bounded: when full it starts over.

const maxCachedVersions = 1 << 17

type versionKey struct {
	ordering string // osv.RangeSemver or a base ecosystem
	s        string
}

type versionVal struct {
	v   semantic.Version
	err error
}

var versions = struct {
	sync.RWMutex
	m map[versionKey]versionVal
}{m: map[versionKey]versionVal{}}

// cachedParse returns parse(s) for the ordering, parsing at most once per
// (ordering, s) while the cache holds it.
func cachedParse(ordering, s string, parse func(string) (semantic.Version, error)) (semantic.Version, error) {
	k := versionKey{ordering, s}
	versions.RLock()
	r, ok := versions.m[k]
	versions.RUnlock()
	if ok {
		return r.v, r.err
	}
	r.v, r.err = parse(s)
	versions.Lock()
	if len(versions.m) >= maxCachedVersions {
		versions.m = make(map[versionKey]versionVal, len(versions.m)/2)
	}
	versions.m[k] = r
	versions.Unlock()
	return r.v, r.err
}

// Comparisons are cached too, for the costly ecosystem orderings only
// (osv-scalibr's Packagist ordering converts every component to a big
// integer on each comparison): upgrade advice compares the same candidate
// versions with the same range boundaries over and over. The others
// (SEMVER, npm, PyPI, ...: 20-80 ns) are cheaper than a cache lookup.

// costlyOrdering names the base ecosystems whose comparisons take several
// hundred nanoseconds (measured: Packagist 0.6-1 µs, RubyGems 0.9 µs,
// Debian 0.9 µs, Ubuntu 2.6 µs, Red Hat / AlmaLinux / Rocky Linux
// 0.35-0.6 µs, Maven 0.25-0.5 µs).
var costlyOrdering = map[string]bool{
	"Packagist": true, "RubyGems": true, "Debian": true, "Ubuntu": true, "Maven": true,
	"Red Hat": true, "AlmaLinux": true, "Rocky Linux": true, "openSUSE": true, "SUSE": true, "Mageia": true, "openEuler": true,
}

// compareKey is a 128-bit hash of (ordering, a, b) under two random
// seeds: a key of the three strings took ~80 bytes per entry and kept the
// strings alive (10 MB of a 10,000-component scan's live heap); two
// different triples share a key with probability ~2^-128 per pair.
type compareKey [2]uint64

var compareSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func compareKeyOf(ordering, a, b string) compareKey {
	var k compareKey
	for i, seed := range compareSeeds {
		var h maphash.Hash
		h.SetSeed(seed)
		h.WriteString(ordering)
		h.WriteByte(0)
		h.WriteString(a)
		h.WriteByte(0)
		h.WriteString(b)
		k[i] = h.Sum64()
	}
	return k
}

// compareVal is a comparison's result; comparisons that fail are not
// cached (they are rare and cost no more than a successful one).
type compareVal = int8

var comparisons = struct {
	sync.RWMutex
	m map[compareKey]compareVal
}{m: map[compareKey]compareVal{}}

// cachedCompare returns av.Compare(bv) for the versions a and b of the
// ordering, computing it at most once while the cache holds it.
func cachedCompare(ordering, a, b string, av, bv semantic.Version) (int, error) {
	k := compareKeyOf(ordering, a, b)
	comparisons.RLock()
	r, ok := comparisons.m[k]
	comparisons.RUnlock()
	if ok {
		return int(r), nil
	}
	n, err := av.Compare(bv)
	if err != nil {
		return n, err
	}
	comparisons.Lock()
	if len(comparisons.m) >= maxCachedVersions {
		comparisons.m = make(map[compareKey]compareVal, len(comparisons.m)/2)
	}
	comparisons.m[k] = compareVal(max(-1, min(1, n)))
	comparisons.Unlock()
	return n, nil
}

// dropCaches empties the parsed version and comparison caches.
func dropCaches() {
	versions.Lock()
	versions.m = map[versionKey]versionVal{}
	versions.Unlock()
	comparisons.Lock()
	comparisons.m = map[compareKey]compareVal{}
	comparisons.Unlock()
}
