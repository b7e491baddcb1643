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
	"syscall"
	"time"
)

// pageBytes is the page size the touches step by.
const pageBytes = 4096

// FreshPageCost maps size bytes of anonymous memory, writes one byte to
// each 4 KiB page, and unmaps it, runs times; it returns the median time
// per page.
func FreshPageCost(size, runs int) (time.Duration, error) {
	return freshCost(size, runs, nil)
}

// freshCost is FreshPageCost with advise, when not nil, called on each
// mapping before its touches.
func freshCost(size, runs int, advise func([]byte) error) (time.Duration, error) {
	if size < pageBytes || runs < 1 {
		return 0, fmt.Errorf("machine: size %d, runs %d", size, runs)
	}
	pages := size / pageBytes
	per := make([]time.Duration, 0, runs)
	for range runs {
		mem, err := syscall.Mmap(-1, 0, pages*pageBytes, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			return 0, fmt.Errorf("machine: mmap: %w", err)
		}
		if advise != nil {
			if err := advise(mem); err != nil {
				syscall.Munmap(mem)
				return 0, err
			}
		}
		start := time.Now()
		for off := 0; off < len(mem); off += pageBytes {
			mem[off] = 1
		}
		elapsed := time.Since(start)
		if err := syscall.Munmap(mem); err != nil {
			return 0, fmt.Errorf("machine: munmap: %w", err)
		}
		per = append(per, elapsed/time.Duration(pages))
	}
	slices.Sort(per)
	return per[len(per)/2], nil
}
