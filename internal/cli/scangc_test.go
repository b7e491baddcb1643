package cli

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// collectRarely turns the pacing off under a memory limit, resumes the
// usual pacing once a collection leaves more than half the budget live,
// restores the settings with the last of overlapping calls, and leaves
// them alone when GOGC is set.
func TestCollectRarely(t *testing.T) {
	pct, limit := gcPercent(), debug.SetMemoryLimit(-1)
	if pct == -1 {
		t.Skip("GOGC=off in this process")
	}
	const budget = 8 << 20
	restore1 := collectRarely(budget)
	restore2 := collectRarely(budget)
	if p, l := gcPercent(), debug.SetMemoryLimit(-1); p != -1 || l != budget {
		t.Fatalf("during a scan: GOGC %d, limit %d; want off, %d", p, l, budget)
	}
	restore1()
	restore1() // twice is once
	if p := gcPercent(); p != -1 {
		t.Fatalf("after the first of two overlapping restores: GOGC %d, want off", p)
	}
	// More than half the budget live: the next collection resumes the
	// usual pacing (the cleanup runs after it, on another goroutine).
	live := make([]byte, budget)
	for i := 0; i < 1000 && gcPercent() == -1; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	runtime.KeepAlive(live)
	if p, l := gcPercent(), debug.SetMemoryLimit(-1); p != pct || l != limit {
		t.Errorf("with %d live: GOGC %d, limit %d; want %d, %d", len(live), p, l, pct, limit)
	}
	restore2()
	if p, l := gcPercent(), debug.SetMemoryLimit(-1); p != pct || l != limit {
		t.Errorf("after the last restore: GOGC %d, limit %d; want %d, %d", p, l, pct, limit)
	}

	// A small live heap keeps the pacing off until the restore.
	restore := collectRarely(math.MaxInt64 / 4)
	runtime.GC()
	runtime.GC()
	if p := gcPercent(); p != -1 {
		t.Errorf("small live heap: GOGC %d, want off", p)
	}
	restore()
	if p := gcPercent(); p != pct {
		t.Errorf("after restore: GOGC %d, want %d", p, pct)
	}

	t.Setenv("GOGC", "200")
	restore = collectRarely(budget)
	p := gcPercent()
	restore()
	if p != pct {
		t.Errorf("with GOGC set: GOGC %d, want %d (untouched)", p, pct)
	}
}
