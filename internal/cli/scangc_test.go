package cli

import (
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/hugeheap"
)

// collectRarely turns the pacing off under a memory limit, resumes the
// usual pacing once a collection leaves more than half the budget live,
// restores the settings with the last of overlapping calls, and leaves
// them alone when GOGC is set.
func TestCollectRarely(t *testing.T) {
	pct, limit := gcPercentNow(), debug.SetMemoryLimit(-1)
	if pct == -1 {
		t.Skip("GOGC=off in this process")
	}
	const budget = 8 << 20
	restore1 := collectRarely(budget, 0)
	restore2 := collectRarely(budget, 0)
	if p, l := gcPercentNow(), debug.SetMemoryLimit(-1); p != -1 || l != budget {
		t.Fatalf("during a scan: GOGC %d, limit %d; want off, %d", p, l, budget)
	}
	restore1()
	restore1() // twice is once
	if p := gcPercentNow(); p != -1 {
		t.Fatalf("after the first of two overlapping restores: GOGC %d, want off", p)
	}
	// More than half the budget live: the next collection resumes the
	// usual pacing (the cleanup runs after it, on another goroutine).
	live := make([]byte, budget)
	for i := 0; i < 1000 && gcPercentNow() == -1; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	runtime.KeepAlive(live)
	if p, l := gcPercentNow(), debug.SetMemoryLimit(-1); p != pct || l != limit {
		t.Errorf("with %d live: GOGC %d, limit %d; want %d, %d", len(live), p, l, pct, limit)
	}
	restore2()
	if p, l := gcPercentNow(), debug.SetMemoryLimit(-1); p != pct || l != limit {
		t.Errorf("after the last restore: GOGC %d, limit %d; want %d, %d", p, l, pct, limit)
	}

	// A small live heap keeps the pacing off until the restore.
	restore := collectRarely(math.MaxInt64/4, 0)
	runtime.GC()
	runtime.GC()
	if p := gcPercentNow(); p != -1 {
		t.Errorf("small live heap: GOGC %d, want off", p)
	}
	restore()
	if p := gcPercentNow(); p != pct {
		t.Errorf("after restore: GOGC %d, want %d", p, pct)
	}

	t.Setenv("GOGC", "200")
	restore = collectRarely(budget, 0)
	p := gcPercentNow()
	restore()
	if p != pct {
		t.Errorf("with GOGC set: GOGC %d, want %d (untouched)", p, pct)
	}
}

// collectRarelyUpTo keeps the pacing off while collections leave up to
// keepLive live, past half the budget (a full import's queued records),
// and resumes the usual pacing beyond it.
func TestCollectRarelyUpTo(t *testing.T) {
	pct, limit := gcPercentNow(), debug.SetMemoryLimit(-1)
	if pct == -1 {
		t.Skip("GOGC=off in this process")
	}
	const budget, keep = 32 << 20, 24 << 20
	restore := collectRarelyUpTo(budget, keep, 0)
	defer restore()
	live := make([]byte, 20<<20)
	runtime.GC()
	runtime.GC()
	if p := gcPercentNow(); p != -1 {
		t.Errorf("with %d live (keepLive %d): GOGC %d, want off", len(live), keep, p)
	}
	more := make([]byte, 8<<20)
	for i := 0; i < 1000 && gcPercentNow() == -1; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	runtime.KeepAlive(live)
	runtime.KeepAlive(more)
	if p, l := gcPercentNow(), debug.SetMemoryLimit(-1); p != pct || l != limit {
		t.Errorf("with %d live: GOGC %d, limit %d; want %d, %d", len(live)+len(more), p, l, pct, limit)
	}
}

// With a soft limit, a collection leaving more than half the budget live
// puts the usual pacing back under that limit, and one leaving more than
// softLimitLive of the limit live lifts it.
func TestCollectRarelySoftLimit(t *testing.T) {
	pct, limit := gcPercentNow(), debug.SetMemoryLimit(-1)
	if pct == -1 {
		t.Skip("GOGC=off in this process")
	}
	const budget, soft = 8 << 20, 64 << 20
	restore := collectRarely(budget, soft)
	defer restore()
	collectUntil := func(done func() bool) {
		for i := 0; i < 1000 && !done(); i++ {
			runtime.GC()
			runtime.Gosched()
		}
	}
	live := make([]byte, budget)
	collectUntil(func() bool { return gcPercentNow() != -1 })
	if p, l := gcPercentNow(), debug.SetMemoryLimit(-1); p != pct || l != soft {
		t.Fatalf("with %d live: GOGC %d, limit %d; want %d, %d", len(live), p, l, pct, soft)
	}
	runtime.KeepAlive(live)
	more := make([]byte, soft-soft/8) // with live: more than softLimitLive of soft
	collectUntil(func() bool { return debug.SetMemoryLimit(-1) != soft })
	if p, l := gcPercentNow(), debug.SetMemoryLimit(-1); p != pct || l != limit {
		t.Errorf("with %d live: GOGC %d, limit %d; want %d, %d (lifted)", len(live)+len(more), p, l, pct, limit)
	}
	runtime.KeepAlive(live)
	runtime.KeepAlive(more)
	restore()
	if p, l := gcPercentNow(), debug.SetMemoryLimit(-1); p != pct || l != limit {
		t.Errorf("after restore: GOGC %d, limit %d; want %d, %d", p, l, pct, limit)
	}
}

// floorPercent puts the next goal at the floor while the live heap is
// small, and keeps the usual pacing otherwise (also for an unknown live
// heap, which liveHeap reports as the largest int64).
func TestFloorPercent(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live       int64
		base, want int
	}{
		{6 * mb, 100, 966}, {32 * mb, 100, 100}, {16 * mb, 100, 300}, {30 * mb, 100, 113},
		{40 * mb, 100, 100}, {64 * mb, 100, 100}, {0, 100, 100}, {math.MaxInt64, 100, 100},
		{16 * mb, 400, 400}, {1, 100, 64*mb*100 - 100},
	} {
		if got := floorPercent(64*mb, c.live, c.base); got != c.want {
			t.Errorf("floorPercent(64 MiB, %d, %d) = %d, want %d", c.live, c.base, got, c.want)
		}
	}
}

// collectAboveFloor sets GOGC after each collection so that the next
// goal is the floor, puts the previous setting back when stopped, and
// leaves the collector alone when GOGC is set.
func TestCollectAboveFloor(t *testing.T) {
	pct := gcPercentNow()
	if pct == -1 {
		t.Skip("GOGC=off in this process")
	}
	stop := collectAboveFloor(1 << 40)
	for i := 0; i < 1000 && gcPercentNow() == pct; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if p := gcPercentNow(); p <= pct {
		t.Errorf("after a collection with a small live heap: GOGC %d, want more than %d", p, pct)
	}
	stop()
	stop() // twice is once
	if p := gcPercentNow(); p != pct {
		t.Errorf("after stop: GOGC %d, want %d", p, pct)
	}
	runtime.GC()
	runtime.GC()
	if p := gcPercentNow(); p != pct {
		t.Errorf("collections after stop: GOGC %d, want %d", p, pct)
	}
	t.Setenv("GOGC", "200")
	stop = collectAboveFloor(1 << 40)
	runtime.GC()
	runtime.GC()
	p := gcPercentNow()
	stop()
	if p != pct {
		t.Errorf("with GOGC set: GOGC %d, want %d (untouched)", p, pct)
	}
}

// While collectAboveFloor raises GOGC (a small live heap), a memory limit
// of floorBackstop floors bounds the heap, and stop puts the limit back;
// over the floor, the limit is left as it was.
func TestCollectAboveFloorBackstop(t *testing.T) {
	if gcSetByUser() || gcPercentNow() == -1 {
		t.Skip("GOGC or GOMEMLIMIT set for this process")
	}
	limit := debug.SetMemoryLimit(-1)
	const floor = 1 << 40
	stop := collectAboveFloor(floor)
	for i := 0; i < 1000 && debug.SetMemoryLimit(-1) == limit; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if got := debug.SetMemoryLimit(-1); got != floorBackstop*floor {
		t.Errorf("GOGC raised for the floor: memory limit %d, want %d", got, floorBackstop*floor)
	}
	stop()
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("after stop: memory limit %d, want %d", got, limit)
	}
	stop = collectAboveFloor(1) // every heap is over this floor
	defer stop()
	for range 3 {
		runtime.GC()
		runtime.Gosched()
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("over the floor: memory limit %d, want %d", got, limit)
	}
}

// holdStartup turns the collector off until releaseStartup puts the
// setting back; collectRarely takes the hold over (its restore puts back
// the setting from before the hold, and releaseStartup then does
// nothing); a command already collecting rarely and GOGC in the
// environment leave the collector alone.
func TestHoldStartup(t *testing.T) {
	pct, limit := gcPercentNow(), debug.SetMemoryLimit(-1)
	if pct == -1 {
		t.Skip("GOGC=off in this process")
	}
	want := func(when string, wantPct int, wantLimit int64) {
		t.Helper()
		if p, l := gcPercentNow(), debug.SetMemoryLimit(-1); p != wantPct || l != wantLimit {
			t.Errorf("%s: GOGC %d, limit %d; want %d, %d", when, p, l, wantPct, wantLimit)
		}
	}
	holdStartup()
	want("held", -1, startupHeapLimit)
	holdStartup()
	releaseStartup()
	want("released", pct, limit)
	releaseStartup()
	want("released twice", pct, limit)

	const budget = 8 << 20
	holdStartup()
	restore := collectRarely(budget, 0)
	want("taken over", -1, budget)
	releaseStartup()
	want("released after the take-over", -1, budget)
	restore()
	want("after the take-over's restore", pct, limit)

	restore = collectRarely(budget, 0)
	holdStartup()
	restore()
	releaseStartup()
	want("held while collecting rarely", pct, limit)

	t.Setenv("GOGC", "200")
	holdStartup()
	p := gcPercentNow()
	releaseStartup()
	if p != pct {
		t.Errorf("with GOGC set: GOGC %d, want %d (untouched)", p, pct)
	}
}

// A command line leaves the collector as it found it, whether its command
// takes the start-up hold over (scan) or not (data-dir).
func TestExecuteLeavesGCAsFound(t *testing.T) {
	pct, limit := gcPercentNow(), debug.SetMemoryLimit(-1)
	if pct == -1 {
		t.Skip("GOGC=off in this process")
	}
	dir := t.TempDir()
	for _, args := range [][]string{{"data-dir"}, {"scan", "pkg:npm/lodash@4.17.20"}} {
		var out, errOut strings.Builder
		err := Execute(append(args, "--data-dir", dir), strings.NewReader(""), &out, &errOut)
		if args[0] == "scan" && (err == nil || !strings.Contains(err.Error(), "no advisories")) {
			t.Fatalf("scan of an empty store: %v", err)
		}
		if p, l := gcPercentNow(), debug.SetMemoryLimit(-1); p != pct || l != limit {
			t.Errorf("after %v: GOGC %d, limit %d; want %d, %d", args, p, l, pct, limit)
		}
	}
}

// raiseBudget raises the limit of the collection period in progress, not
// beside another command of the process, not downwards, not once the
// usual pacing resumed, and the restore puts back what was before.
func TestRaiseBudget(t *testing.T) {
	pct, limit := gcPercentNow(), debug.SetMemoryLimit(-1)
	if pct == -1 {
		t.Skip("GOGC=off in this process")
	}
	const budget, raised = 64 << 20, 96 << 20
	restore := collectRarely(budget, 0)
	raiseBudget(budget / 2)
	if l := debug.SetMemoryLimit(-1); l != budget {
		t.Errorf("lowered: limit %d, want %d", l, budget)
	}
	other := collectRarely(budget, 0)
	raiseBudget(raised)
	if l := debug.SetMemoryLimit(-1); l != budget {
		t.Errorf("beside another command: limit %d, want %d", l, budget)
	}
	other()
	raiseBudget(raised)
	if p, l := gcPercentNow(), debug.SetMemoryLimit(-1); p != -1 || l != raised {
		t.Errorf("raised: GOGC %d, limit %d; want off, %d", p, l, raised)
	}
	rarely.state.resume() // as a collection leaving much live does
	raiseBudget(raised * 2)
	if p, l := gcPercentNow(), debug.SetMemoryLimit(-1); p != pct || l != limit {
		t.Errorf("raised after the pacing resumed: GOGC %d, limit %d; want %d, %d", p, l, pct, limit)
	}
	restore()
	if p, l := gcPercentNow(), debug.SetMemoryLimit(-1); p != pct || l != limit {
		t.Errorf("after restore: GOGC %d, limit %d; want %d, %d", p, l, pct, limit)
	}
	raiseBudget(raised) // no period: nothing
	if l := debug.SetMemoryLimit(-1); l != limit {
		t.Errorf("without a period: limit %d, want %d", l, limit)
	}
}

// reserveHugeHeap reserves only in a period of rare collections this
// command alone started, under 7/8 of its budget, before the usual pacing
// resumed, and where the kernel gives huge pages on request.
func TestReserveHugeHeap(t *testing.T) {
	if gcPercentNow() == -1 {
		t.Skip("GOGC=off in this process")
	}
	const budget = 64 << 20
	if reserveHugeHeap(1 << 20) {
		t.Error("reserved outside a period of rare collections")
	}
	restore := collectRarely(budget, 0)
	defer restore()
	if reserveHugeHeap(budget*7/8 + 1) {
		t.Error("reserved more than 7/8 of the budget")
	}
	other := collectRarely(budget, 0)
	if reserveHugeHeap(1 << 20) {
		t.Error("reserved beside another command")
	}
	other()
	if got, want := reserveHugeHeap(8<<20), hugeheap.Available(); got != want {
		t.Errorf("reserveHugeHeap = %v, want %v (huge pages on request here: %v)", got, want, want)
	}
	rarely.state.resume()
	if reserveHugeHeap(1 << 20) {
		t.Error("reserved after the usual pacing resumed")
	}
}
