// Package machine measures what a benchmark run's figures depend on besides
// the code: how dear it is to touch memory for the first time. Each first
// touch of a fresh page is a page fault, which a virtual machine can make
// ten times as costly as bare hardware (a PVM guest measured ~13 µs per
// 4 KiB page); short processes that allocate fast (a scan, a small import)
// pay it in every run, so the harness prints it beside the figures to tell
// one machine's run from another's. FreshHugePageCost measures the same
// touches in memory advised for transparent huge pages (Linux), which the
// scan and the import ask for (internal/hugeheap): the two figures side by
// side say how much that saves on the machine. It is for Linux and other
// Unix systems (anonymous mmap); it leaves out NUMA.
package machine

import (
	"fmt"
	"slices"
	"time"

	"github.com/vulngate/vulngate/internal/hugeheap"
)

// pageBytes is the size of the pages the touches step by.
const pageBytes = 4096

// FreshPageCost maps size bytes of anonymous memory, writes one byte to
// each 4 KiB page, and unmaps it, runs times; it returns the median time
// per page.
func FreshPageCost(size, runs int) (time.Duration, error) {
	return freshCost(size, runs, false)
}

// FreshHugePageCost is FreshPageCost in memory advised MADV_HUGEPAGE: the
// time per 4 KiB of it touched first. Where the kernel's transparent huge
// page setting is "never" (or huge pages run out) the advice changes
// nothing and the figure is FreshPageCost's; where there is no such
// advice (other systems than Linux) it is an error.
func FreshHugePageCost(size, runs int) (time.Duration, error) {
	return freshCost(size, runs, true)
}

// freshCost is the median of runs measurements of hugeheap.FirstTouch
// over size bytes, advised for huge pages when huge.
func freshCost(size, runs int, huge bool) (time.Duration, error) {
	if size < pageBytes || runs < 1 {
		return 0, fmt.Errorf("machine: size %d, runs %d", size, runs)
	}
	per := make([]time.Duration, 0, runs)
	for range runs {
		d, err := hugeheap.FirstTouch(size/pageBytes, huge)
		if err != nil {
			return 0, fmt.Errorf("machine: %w", err)
		}
		per = append(per, d)
	}
	slices.Sort(per)
	return per[len(per)/2], nil
}
