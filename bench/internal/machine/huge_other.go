//go:build !linux

package machine

import (
	"errors"
	"time"
)

// FreshHugePageCost reports an error: huge page advice is Linux's.
func FreshHugePageCost(size, runs int) (time.Duration, error) {
	return 0, errors.New("machine: no transparent huge pages on this system")
}
