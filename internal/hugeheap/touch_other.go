//go:build !unix

package hugeheap

import (
	"errors"
	"time"
)

// FirstTouch is not measured where anonymous memory is not mapped with
// mmap(2).
func FirstTouch(int, bool) (time.Duration, error) {
	return 0, errors.New("hugeheap: no mmap on this system")
}
