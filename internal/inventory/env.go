package inventory

import (
	"io"
	"os"
	"path/filepath"
	"strings"
)

// fileEnv is what lies around an input file: the files beside it and, for
// an OS package database, its filesystem's os-release.
type fileEnv struct {
	// siblings reads a file in the input's directory, nil when absent.
	siblings func(name string) []byte
	// release reads the os-release of the filesystem the input belongs to.
	release func() []byte
}

func (e fileEnv) osRelease(k *kind) []byte {
	if !k.os || e.release == nil {
		return nil
	}
	return e.release()
}

// maxSibling bounds what is read of a file beside the input.
const maxSibling = 16 << 20

func readSmall(path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSibling))
	if err != nil {
		return nil
	}
	return b
}

// diskEnv is the environment of a file on disk. The filesystem root of an
// OS database is the directory above its standard path
// (ROOT/var/lib/dpkg/status, ROOT/lib/apk/db/installed).
func diskEnv(path string) fileEnv {
	dir := filepath.Dir(path)
	e := fileEnv{siblings: func(name string) []byte { return readSmall(filepath.Join(dir, name)) }}
	slash := filepath.ToSlash(path)
	for _, k := range kinds {
		if !k.os || !k.match(slash) {
			continue
		}
		root := strings.TrimSuffix(slash, k.file)
		if root == "" {
			root = "."
		}
		e.release = func() []byte {
			return findOSRelease(func(p string) []byte { return readSmall(filepath.Join(filepath.FromSlash(root), p)) })
		}
	}
	return e
}

// findOSRelease returns etc/os-release, else usr/lib/os-release, read by
// read (paths relative to a filesystem root).
func findOSRelease(read func(string) []byte) []byte {
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		if b := read(p); b != nil {
			return b
		}
	}
	return nil
}
