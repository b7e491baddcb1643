package osvmirror

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestCompareIDs holds modifiedSince and compareIDs to the plain rule it implements without
// a set of the stored IDs: a record changed when upstream modified it after
// the old watermark, or (late) when it is upstream but neither stored nor
// skipped; removed records are stored but not upstream. Random partitions
// with removed, added, late-published, skipped (stored or not) records.
func TestCompareIDs(t *testing.T) {
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		upstream := map[string]time.Time{}
		var stored []string
		skipped := map[string]struct{}{}
		n := rng.IntN(40)
		for i := range n {
			id := fmt.Sprintf("ID-%d", i)
			up, st := rng.IntN(10) > 0, rng.IntN(10) > 0
			if up {
				upstream[id] = old.Add(time.Duration(rng.IntN(5)-3) * time.Hour)
			}
			if st {
				stored = append(stored, id)
			}
			if rng.IntN(8) == 0 {
				skipped[id] = struct{}{}
			}
		}
		rng.Shuffle(len(stored), func(i, j int) { stored[i], stored[j] = stored[j], stored[i] })
		for _, late := range []bool{true, false} {
			changed, watermark := modifiedSince(upstream, old)
			changed, removed, had := compareIDs(upstream, changed, stored, skipped, old, late)
			// The rule, with a set of the stored IDs.
			have := map[string]bool{}
			for _, id := range stored {
				have[id] = true
			}
			var wantChanged, wantRemoved, wantHad []string
			wantWatermark := old
			for id, mod := range upstream {
				if mod.After(wantWatermark) {
					wantWatermark = mod
				}
				_, skip := skipped[id]
				if mod.After(old) || (!have[id] && !skip && late) {
					wantChanged = append(wantChanged, id)
					if have[id] {
						wantHad = append(wantHad, id)
					}
				}
			}
			for _, id := range stored {
				if _, ok := upstream[id]; !ok {
					wantRemoved = append(wantRemoved, id)
				}
			}
			var gotHad []string
			for _, id := range changed {
				if had[id] {
					gotHad = append(gotHad, id)
				}
			}
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"changed", changed, wantChanged}, {"removed", removed, wantRemoved}, {"had", gotHad, wantHad}} {
				slices.Sort(c.got)
				slices.Sort(c.want)
				if !slices.Equal(c.got, c.want) {
					t.Fatalf("round %d late %v: %s = %q, want %q (upstream %v, stored %q, skipped %v)", round, late, c.what, c.got, c.want, upstream, stored, skipped)
				}
			}
			if !watermark.Equal(wantWatermark) {
				t.Fatalf("round %d: watermark %v, want %v", round, watermark, wantWatermark)
			}
		}
	}
}

// sizedReader is a body that tells its length, as an HTTP response with a
// Content-Length does.
type sizedReader struct {
	*bytes.Reader
	n int64
}

func (r sizedReader) size() int64 { return r.n }

// TestReadAllLimitedSizesFromLength: a body that tells its length is read
// into one allocation of that size; a wrong or hostile length changes
// nothing but the allocations.
func TestReadAllLimitedSizesFromLength(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 10_000)
	for _, n := range []int64{int64(len(data)), int64(len(data)) - 100, 1 << 40, -1} {
		var got []byte
		var err error
		allocs := testing.AllocsPerRun(5, func() {
			got = nil
			_, err = readAllLimited(sizedReader{bytes.NewReader(data), n}, &got, 1<<20)
		})
		// The reader, its interface value and the buffer.
		if err != nil || !bytes.Equal(got, data) || (n == int64(len(data)) && allocs > 3) {
			t.Errorf("length %d: err %v, %d bytes read, %v allocations", n, err, len(got), allocs)
		}
	}
	var got []byte
	if _, err := readAllLimited(sizedReader{bytes.NewReader(data), int64(len(data))}, &got, len(data)-1); err != errTooLarge {
		t.Errorf("over the limit: %v", err)
	}
}
