//go:build !unix

package feed

import "os"

// openCached opens a cached file for reading (see open_unix.go).
func openCached(path string) (*os.File, error) { return os.Open(path) }
