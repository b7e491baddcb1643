package osvmirror

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

// TestCompareIDs holds the list's changed records and compareIDs, and the
// comparison by sketches (bySketches), to the plain rule they implement
// without a set of the stored IDs: a record changed when upstream modified it after
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
			lst := listOf(t, upstream, old)
			changed, watermark := slices.Clone(lst.changed), lst.watermark
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
			// The same from the sketches of the stored and listed IDs.
			gone, unstored, ok := store.SketchIDs(stored).Diff(lst.sketch)
			if !ok {
				t.Fatalf("round %d: %d stored and %d listed IDs: the sketches did not tell", round, len(stored), len(upstream))
			}
			c := bySketches(lst, skipped, gone, unstored, late)
			var sketchHad, wantUnskipped []string
			for _, id := range c.changed {
				if c.had[id] {
					sketchHad = append(sketchHad, id)
				}
			}
			for id := range skipped {
				if _, ok := upstream[id]; !ok {
					wantUnskipped = append(wantUnskipped, id)
				}
			}
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"changed", c.changed, wantChanged}, {"removed", c.removed, wantRemoved}, {"had", sketchHad, wantHad}, {"unskipped", c.unskipped, wantUnskipped}} {
				slices.Sort(c.got)
				slices.Sort(c.want)
				if !slices.Equal(c.got, c.want) {
					t.Fatalf("round %d late %v, by the sketches: %s = %q, want %q (upstream %v, stored %q, skipped %v)", round, late, c.what, c.got, c.want, upstream, stored, skipped)
				}
			}
		}
	}
}

// listOf is the modified_id.csv listing upstream (ID -> time), newest
// first, as read by a sync whose last watermark was old. The list must
// hold every record once, with its time, and their digest.
func listOf(t *testing.T, upstream map[string]time.Time, old time.Time) *modifiedList {
	t.Helper()
	ids := slices.Collect(maps.Keys(upstream))
	slices.SortFunc(ids, func(a, b string) int { return upstream[b].Compare(upstream[a]) })
	var text strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&text, "%s,%s\n", upstream[id].Format(time.RFC3339), id)
	}
	lst, err := readModifiedCSV(strings.NewReader(text.String()), "x", old, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := lst.times(); !maps.EqualFunc(got, upstream, time.Time.Equal) {
		t.Fatalf("times %v, want %v", got, upstream)
	}
	if want := store.SketchIDs(ids); lst.lines != len(ids) || lst.sketch == nil || *lst.sketch != *want {
		t.Fatalf("%d lines (want %d), or another sketch", lst.lines, len(ids))
	}
	return lst
}

// sizedReader is a body that tells its length, as an HTTP response with a
// Content-Length does. With reads set, it notes the size of the buffer
// each Read is given.
type sizedReader struct {
	*bytes.Reader
	n     int64
	reads *[]int
}

func (r sizedReader) size() int64 { return r.n }

func (r sizedReader) Read(p []byte) (int, error) {
	if r.reads != nil {
		*r.reads = append(*r.reads, len(p))
	}
	return r.Reader.Read(p)
}

// TestReadAllLimitedSizesFromLength: a body that tells its length is read
// into one buffer of that size (the first Read is given room for all of
// it and for the EOF); a wrong or hostile length changes nothing but how
// the buffer grows (no allocation of a hostile length).
func TestReadAllLimitedSizesFromLength(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 10_000)
	for _, n := range []int64{int64(len(data)), int64(len(data)) - 100, 1 << 40, -1} {
		var reads []int
		var buf []byte
		_, err := readAllLimited(sizedReader{bytes.NewReader(data), n, &reads}, &buf, 1<<20)
		if err != nil || !bytes.Equal(buf, data) {
			t.Errorf("length %d: err %v, %d bytes read", n, err, len(buf))
		}
		if n == int64(len(data)) && (len(reads) == 0 || reads[0] <= len(data)) {
			t.Errorf("length %d: reads into buffers of %v bytes, want one with room for all of it", n, reads)
		}
		if cap(buf) > 4*len(data) {
			t.Errorf("length %d: a buffer of %d bytes for %d", n, cap(buf), len(data))
		}
	}
	var buf []byte
	var reads []int
	if _, err := readAllLimited(sizedReader{bytes.NewReader(data), int64(len(data)), &reads}, &buf, len(data)-1); err != errTooLarge {
		t.Errorf("over the limit: %v", err)
	}
}

// byteReader returns one byte per Read, as a slow download would.
type byteReader struct{ s string }

func (r *byteReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

// TestModifiedCSVEarly: while modified_id.csv is read, its first lines
// newer than the watermark are handed over as they complete, up to the
// first line that is not (older, malformed) or that early refuses; the
// map is the whole file's whatever early saw.
func TestModifiedCSVEarly(t *testing.T) {
	since := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		csv   string
		limit int // early takes this many
		want  []string
		bad   bool
	}{
		{"2024-03-01T00:00:00Z,A\n2024-02-01T00:00:00Z,B\n2023-12-01T00:00:00Z,C\n2024-05-01T00:00:00Z,D\n", 10, []string{"A", "B"}, false},
		{"2024-03-01T00:00:00Z,A\r\n2024-02-01T00:00:00Z,B\r\n", 10, []string{"A", "B"}, false},
		{"2024-03-01T00:00:00Z,A\n2024-02-01T00:00:00Z,B\n2024-02-01T00:00:00Z,C\n", 2, []string{"A", "B"}, false},
		{"2024-03-01T00:00:00Z,A\n2024-02-01T00:00:00Z,../B\n2024-02-01T00:00:00Z,C\n", 10, []string{"A"}, true},
		{"2024-03-01T00:00:00Z,A\nyesterday,B\n2024-02-01T00:00:00Z,C\n", 10, []string{"A"}, true},
		{"2024-03-01T00:00:00Z,A", 10, nil, false}, // no line break: only the whole parse sees it
		{"2024-03-01T00:00:00Z,A\n2024-02-01T00:00:00Z," + strings.Repeat("B", maxCSVLine) + "\n2024-02-01T00:00:00Z,C\n", 10, []string{"A"}, true},
	} {
		for _, slow := range []bool{false, true} {
			var r io.Reader = strings.NewReader(c.csv)
			if slow {
				r = &byteReader{c.csv}
			}
			var got []string
			all, err := readModifiedCSV(r, "x", since, func(id string) bool {
				if len(got) == c.limit {
					return false
				}
				got = append(got, id)
				return true
			})
			if (err != nil) != c.bad || !slices.Equal(got, c.want) {
				t.Errorf("%q (slow %v): early %q, err %v", c.csv, slow, got, err)
			}
			if !c.bad && len(all.times()) != strings.Count(c.csv, ",") {
				t.Errorf("%q: map %v", c.csv, all.times())
			}
		}
	}
}
