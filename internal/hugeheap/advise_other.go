//go:build !linux

package hugeheap

import "time"

// advise does nothing where there is no madvise(2) huge page advice; the
// setting file does not exist there either, so Reserve never calls it.
func advise([]byte) bool { return false }

// firstTouch is not measured where Reserve does nothing.
func firstTouch(int) (time.Duration, bool) { return 0, false }
