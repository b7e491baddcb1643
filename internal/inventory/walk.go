package inventory

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// skipDirs are directories a walk does not enter, as osv-scanner's
// recursive scan does not: version-control metadata, installed or vendored
// third-party trees (their packages are described by the lockfiles that
// put them there), virtual environments and caches, and the kernel's
// virtual filesystems of a root filesystem.
var skipDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true, "node_modules": true, "bower_components": true, "vendor": true,
	".venv": true, "venv": true, "__pycache__": true, ".tox": true, ".gradle": true, ".m2": true,
}

// rootSkip are directories skipped at the top of a root filesystem.
var rootSkip = map[string]bool{"proc": true, "sys": true, "dev": true, "run": true, "tmp": true}

// sbomName reports whether a file name is one SBOM tools write, so a
// walk reads it as an SBOM.
func sbomName(rel string) bool {
	b := strings.ToLower(path.Base(rel))
	for _, s := range []string{".cdx.json", ".cdx.xml", ".spdx.json", ".spdx", ".spdx.yaml", ".spdx.yml", ".spdx3.json"} {
		if strings.HasSuffix(b, s) {
			return true
		}
	}
	return b == "bom.json" || b == "bom.xml" || b == "sbom.json"
}

// maxWalkFiles bounds how many input files one walk reads.
const maxWalkFiles = 10000

// readDir walks a directory and reads every file of a known kind (by
// name: a directory walk never guesses by content). A file that fails to
// read is listed with its error and the walk goes on.
func readDir(ctx context.Context, dir string) (*Result, error) {
	out := &Result{}
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			out.Files = append(out.Files, File{Path: p, Error: err.Error()})
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p != dir && (skipDirs[d.Name()] || !strings.Contains(rel, "/") && rootSkip[d.Name()] && isRootFS(dir)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if _, ok := kindOf(rel); ok || sbomName(rel) {
			if len(found) >= maxWalkFiles {
				return fmt.Errorf("%s: more than %d input files", dir, maxWalkFiles)
			}
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, p := range found {
		r, err := ReadPath(ctx, p, Options{})
		if err != nil {
			out.Files = append(out.Files, File{Path: p, Kind: kindName(p), Error: err.Error()})
			continue
		}
		out.Files = append(out.Files, r.Files...)
		out.Components = append(out.Components, r.Components...)
	}
	if len(out.Files) == 0 {
		return nil, fmt.Errorf("%s: %w", dir, ErrNothingFound)
	}
	return out, nil
}

func kindName(p string) Kind {
	if k, ok := kindOf(filepath.ToSlash(p)); ok {
		return k.name
	}
	return ""
}

// isRootFS reports whether dir looks like a root filesystem.
func isRootFS(dir string) bool {
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			return true
		}
	}
	return false
}

// isTarball reports whether a file name is a tar archive, possibly
// gzip-compressed.
func isTarball(p string) bool {
	b := strings.ToLower(p)
	return strings.HasSuffix(b, ".tar") || strings.HasSuffix(b, ".tar.gz") || strings.HasSuffix(b, ".tgz")
}

// Bounds on what is read of a tarball.
const (
	maxTarEntry = 64 << 20
	maxTarTotal = 512 << 20
)

// readTarball reads a filesystem tarball (docker export, or one image
// layer): its OS package databases, with the os-release it holds, and any
// lockfile or SBOM by name. Entries with ".." segments or absolute paths
// are read by their cleaned relative name; links are not followed.
func readTarball(ctx context.Context, p string) (*Result, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if lower := strings.ToLower(p); strings.HasSuffix(lower, ".gz") || strings.HasSuffix(lower, ".tgz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: not a gzip-compressed tarball: %v", p, err)
		}
		defer gz.Close()
		r = gz
	}
	files := map[string][]byte{}
	var order []string
	var total int64
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading the tarball: %v", p, err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		_, known := kindOf(name)
		if !known && !sbomName(name) && name != "etc/os-release" && name != "usr/lib/os-release" {
			continue
		}
		if h.Size > maxTarEntry {
			return nil, fmt.Errorf("%s: entry %s is larger than %d MiB", p, name, maxTarEntry>>20)
		}
		if total += h.Size; total > maxTarTotal {
			return nil, fmt.Errorf("%s: the entries to read exceed %d MiB", p, maxTarTotal>>20)
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxTarEntry))
		if err != nil {
			return nil, fmt.Errorf("%s: entry %s: %v", p, name, err)
		}
		if _, dup := files[name]; !dup {
			order = append(order, name)
		}
		files[name] = b // a later entry replaces an earlier one, as when unpacking
	}
	out := &Result{}
	env := fileEnv{release: func() []byte { return findOSRelease(func(n string) []byte { return files[n] }) }}
	for _, name := range order {
		if name == "etc/os-release" || name == "usr/lib/os-release" {
			continue
		}
		if skipped(name) {
			continue
		}
		dir := path.Dir(name)
		e := env
		e.siblings = func(s string) []byte { return files[path.Join(dir, s)] }
		res, err := readOne(ctx, p+"!/"+name, files[name], Options{}, e)
		if err != nil {
			out.Files = append(out.Files, File{Path: p + "!/" + name, Kind: kindName(name), Error: err.Error()})
			continue
		}
		out.Files = append(out.Files, res.Files...)
		out.Components = append(out.Components, res.Components...)
	}
	if len(out.Files) == 0 {
		return nil, fmt.Errorf("%s: %w", p, ErrNothingFound)
	}
	return out, nil
}

// skipped reports whether a path lies in a directory a walk skips.
func skipped(rel string) bool {
	return slices.ContainsFunc(strings.Split(path.Dir(rel), "/"), func(s string) bool { return skipDirs[s] })
}
