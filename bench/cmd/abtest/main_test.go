package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseBinaries(t *testing.T) {
	bins, err := parseBinaries([]string{"old=/tmp/a", "new=/tmp/b,GOGC=50,X=1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(bins) != 2 || bins[0].label != "old" || bins[0].path != "/tmp/a" || len(bins[0].env) != 0 ||
		bins[1].path != "/tmp/b" || !slices.Equal(bins[1].env, []string{"GOGC=50", "X=1"}) {
		t.Fatalf("%+v", bins)
	}
	for _, bad := range [][]string{{"old=/tmp/a"}, {"old=/tmp/a", "old=/tmp/b"}, {"old=/tmp/a", "/tmp/b"}, {"old=/tmp/a", "new=/tmp/b,GOGC"}} {
		if _, err := parseBinaries(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestRotation: over n rounds each binary runs once in every position.
func TestRotation(t *testing.T) {
	const n = 3
	first := map[int]int{}
	for r := range n {
		order := rotation(n, r)
		sorted := slices.Sorted(slices.Values(order))
		if !slices.Equal(sorted, []int{0, 1, 2}) {
			t.Fatalf("round %d: %v", r, order)
		}
		first[order[0]]++
	}
	if len(first) != n {
		t.Fatalf("binaries starting a round: %v", first)
	}
}

func TestSyncTime(t *testing.T) {
	out := "ECOSYSTEM MODE\nGo incremental\nsynced in 7.42ms, 8.1ms CPU (the sync itself)\n"
	if d, ok := syncTime(out); !ok || d != 7420*time.Microsecond {
		t.Fatalf("%v %v", d, ok)
	}
	if _, ok := syncTime("no such line"); ok {
		t.Fatal("found a sync time in none")
	}
}

// TestPaired: the ratio is the median of each round's, so one slow round
// of the base does not move it.
func TestPaired(t *testing.T) {
	ms := func(v ...int) []sample {
		var out []sample
		for _, x := range v {
			out = append(out, sample{wall: time.Duration(x) * time.Millisecond})
		}
		return out
	}
	base := ms(100, 100, 100, 100, 300)
	x := ms(90, 95, 98, 110, 100)
	r, smaller := paired(x, base, func(s sample) time.Duration { return s.wall })
	if r != 0.95 || smaller != 4 {
		t.Fatalf("ratio %v, smaller in %d rounds", r, smaller)
	}
	var b strings.Builder
	report(&b, "import", []binary{{label: "base"}, {label: "x"}}, [][]sample{base, x})
	if !strings.Contains(b.String(), "| x | 98.0 ms, 90.0 ms |") || !strings.Contains(b.String(), "0.950 (4 of 5 smaller)") {
		t.Fatalf("report:\n%s", b.String())
	}
}

// A task whose runs print no sync time (scan) shows none, and no ratio of
// it.
func TestReportWithoutSync(t *testing.T) {
	base := []sample{{wall: 100 * time.Millisecond, cpu: 120 * time.Millisecond}}
	x := []sample{{wall: 90 * time.Millisecond, cpu: 110 * time.Millisecond}}
	var b strings.Builder
	report(&b, "scan", []binary{{label: "base"}, {label: "x"}}, [][]sample{base, x})
	if !strings.Contains(b.String(), "| x | 90.0 ms, 90.0 ms | 110.0 ms | – |") || !strings.Contains(b.String(), "0.900 (1 of 1 smaller) | 0.917 (1 of 1 smaller) | – |") {
		t.Fatalf("report:\n%s", b.String())
	}
}

func TestScanArgs(t *testing.T) {
	if got := scanArgs("/d", "/s.json"); !slices.Equal(got, []string{"--data-dir", "/d", "scan", "--format", "json", "/s.json"}) {
		t.Fatal(got)
	}
}
