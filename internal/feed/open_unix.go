//go:build unix

package feed

import (
	"os"
	"syscall"
)

// openCached opens a cached file for reading. os.Open tries to register
// every file it opens with the network poller, which on Linux sets the
// descriptor non-blocking, fails for a regular file and sets it back:
// five system calls per download for nothing. os.NewFile takes the
// descriptor as a plain blocking file (one fcntl), and sendfile(2) reads
// it all the same.
func openCached(path string) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}
