package hugeheap

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// reserve advises a stretch of at least n bytes for huge pages wherever
// the kernel's setting is "madvise", and the heap's next large allocation
// lands in it once the collection has freed it; where the setting is
// another, nothing is advised.
func TestReserveAdvisesTheNextHeap(t *testing.T) {
	const n = 16 << 20
	want := advisable()
	if want && !reserve(n) {
		t.Fatalf("reserve failed with the kernel's setting %q", readSetting())
	}
	runtime.GC() // waits for the collection reserve started, if still running
	b := make([]byte, n/2)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	in := false
	for _, s := range advised(t) {
		in = in || s.start <= p && p+uintptr(len(b)) <= s.end
	}
	runtime.KeepAlive(b)
	if in != want {
		t.Errorf("advisable %v (setting %q), and the next %d-byte allocation (%#x) in an advised range: %v", want, readSetting(), len(b), p, in)
	}
}

// Reserve does what reserve does exactly where Available says it does.
func TestReserveWhereAvailable(t *testing.T) {
	if got, want := Reserve(1<<20), Available(); got != want {
		t.Fatalf("Reserve = %v, Available = %v", got, want)
	}
	if Available() && !advisable() {
		t.Fatal("Available where the kernel's setting or GODEBUG says no")
	}
}

// FirstTouch measures something: more than nothing, less than a second
// per page.
func TestFirstTouch(t *testing.T) {
	d, err := FirstTouch(32, false)
	if err != nil || d <= 0 || d > time.Second {
		t.Fatalf("FirstTouch = %v, %v", d, err)
	}
	t.Logf("first touch of a 4 KiB page: %v (dear above %v)", d, dearTouch)
}

type span struct{ start, end uintptr }

// advised lists this process's mappings whose VmFlags in
// /proc/self/smaps hold "hg" (MADV_HUGEPAGE).
func advised(t *testing.T) []span {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []span
	var cur span
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok {
			if strings.Contains(" "+flags+" ", " hg ") {
				out = append(out, cur)
			}
			continue
		}
		addr, _, _ := strings.Cut(line, " ")
		lo, hi, ok := strings.Cut(addr, "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil {
			cur = span{uintptr(a), uintptr(b)}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
