//go:build !linux

package hugeheap

// advise does nothing where there is no madvise(2) huge page advice; the
// setting file does not exist there either, so Reserve never calls it.
func advise([]byte) bool { return false }
