package hugeheap

import "syscall"

// advise marks b's pages MADV_HUGEPAGE.
func advise(b []byte) bool { return syscall.Madvise(b, syscall.MADV_HUGEPAGE) == nil }
