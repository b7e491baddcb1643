package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

// Backups written into a directory (the scheduled job, `vulngate backup
// DIR`) are named vulngate-backup-<UTC time>.zip; retention keeps the
// newest of those and touches no other file.

// FilePrefix starts the names of backups written into a directory.
const FilePrefix = "vulngate-backup-"

const stampLayout = "20060102T150405Z"

var nameRE = regexp.MustCompile(`^vulngate-backup-(\d{8}T\d{6}Z)(-\d+)?\.zip$`)

// FileName is the name of a backup taken at t.
func FileName(t time.Time) string {
	return FilePrefix + t.UTC().Format(stampLayout) + ".zip"
}

// WriteInto writes a backup into dir (created if missing) under a new
// FileName.
func WriteInto(ctx context.Context, st *store.Store, dir string, opts Options) (*Result, error) {
	opts.defaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	name := FileName(opts.Now())
	path := filepath.Join(dir, name)
	for i := 2; ; i++ {
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			break
		}
		path = filepath.Join(dir, fmt.Sprintf("%s-%d.zip", name[:len(name)-len(".zip")], i))
	}
	return WriteFile(ctx, st, path, opts)
}

// File is a backup found in a directory.
type File struct {
	Name  string
	Path  string
	Taken time.Time
	Size  int64
	seq   int // -2, -3... for backups taken within the same second
}

// List lists the backups in dir written by WriteInto, newest first. A
// missing directory has none.
func List(dir string) ([]File, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []File
	for _, e := range ents {
		m := nameRE.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		taken, err := time.Parse(stampLayout, m[1])
		if err != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		seq, _ := strconv.Atoi(strings.TrimPrefix(m[2], "-"))
		out = append(out, File{Name: e.Name(), Path: filepath.Join(dir, e.Name()), Taken: taken, Size: fi.Size(), seq: seq})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Taken.Equal(out[j].Taken) {
			return out[i].Taken.After(out[j].Taken)
		}
		return out[i].seq > out[j].seq
	})
	return out, nil
}

// Prune deletes the backups of dir beyond the newest keep (keep < 1 keeps
// one) and returns what it deleted.
func Prune(dir string, keep int) ([]File, error) {
	keep = max(keep, 1)
	files, err := List(dir)
	if err != nil || len(files) <= keep {
		return nil, err
	}
	var gone []File
	for _, f := range files[keep:] {
		if err := os.Remove(f.Path); err != nil {
			return gone, err
		}
		gone = append(gone, f)
	}
	return gone, nil
}
