//go:build unix

package hugeheap

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// FirstTouch maps pages 4 KiB pages of fresh anonymous memory (advised
// for huge pages when huge), writes a byte to each, unmaps them, and
// returns the time per page: what Reserve weighs (dearTouch), and what the
// bench harness's report header prints (bench/internal/machine).
func FirstTouch(pages int, huge bool) (time.Duration, error) {
	if pages < 1 {
		return 0, fmt.Errorf("hugeheap: %d pages", pages)
	}
	mem, err := syscall.Mmap(-1, 0, pages*pageBytes, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return 0, fmt.Errorf("hugeheap: mmap: %w", err)
	}
	if huge && !advise(mem) {
		syscall.Munmap(mem)
		return 0, errors.New("hugeheap: no huge page advice on this system")
	}
	start := time.Now()
	for off := 0; off < len(mem); off += pageBytes {
		mem[off] = 1
	}
	elapsed := time.Since(start)
	if err := syscall.Munmap(mem); err != nil {
		return 0, fmt.Errorf("hugeheap: munmap: %w", err)
	}
	return elapsed / time.Duration(pages), nil
}
