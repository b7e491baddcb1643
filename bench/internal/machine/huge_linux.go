package machine

import (
	"fmt"
	"syscall"
	"time"
)

// FreshHugePageCost is FreshPageCost in memory advised MADV_HUGEPAGE: the
// time per 4 KiB of it touched first. Where the kernel's transparent huge
// page setting is "never" (or huge pages run out) the advice changes
// nothing and the figure is FreshPageCost's.
func FreshHugePageCost(size, runs int) (time.Duration, error) {
	return freshCost(size, runs, func(mem []byte) error {
		if err := syscall.Madvise(mem, syscall.MADV_HUGEPAGE); err != nil {
			return fmt.Errorf("machine: madvise: %w", err)
		}
		return nil
	})
}
