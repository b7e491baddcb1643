package hugeheap

import (
	"syscall"
	"time"
)

// advise marks b's pages MADV_HUGEPAGE.
func advise(b []byte) bool { return syscall.Madvise(b, syscall.MADV_HUGEPAGE) == nil }

// firstTouch maps pages 4 KiB pages of fresh anonymous memory, writes a
// byte to each, and returns the time per page.
func firstTouch(pages int) (time.Duration, bool) {
	mem, err := syscall.Mmap(-1, 0, pages*4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return 0, false
	}
	defer syscall.Munmap(mem)
	start := time.Now()
	for off := 0; off < len(mem); off += 4096 {
		mem[off] = 1
	}
	return time.Since(start) / time.Duration(pages), true
}
