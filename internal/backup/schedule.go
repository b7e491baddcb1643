package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/lazyre"
	"github.com/vulngate/vulngate/internal/store"
)

// Backups written into a directory (the scheduled job, `vulngate backup
// DIR`) are named vulngate-backup-<UTC time>.zip; retention keeps the
// newest of those and touches no other file.

// FilePrefix starts the names of backups written into a directory.
const FilePrefix = "vulngate-backup-"

const stampLayout = "20060102T150405Z"

var nameRE = lazyre.New(`^vulngate-backup-(\d{8}T\d{6}Z)(-\d+)?\.zip$`)

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
		m := nameRE.Regexp().FindStringSubmatch(e.Name())
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

// Settings configure the scheduled backup job; the server keeps them as
// the setting SettingName, shared by every instance.
type Settings struct {
	Enabled bool `json:"enabled"`
	// Dir is where backups go: an absolute directory, or "" for the
	// backups directory in the data directory of the instance that runs
	// the job (several instances: set a shared directory).
	Dir string `json:"dir"`
	// Keep is how many of the newest backups are kept (default 7).
	Keep              int  `json:"keep"`
	WithoutAdvisories bool `json:"without_advisories"`
}

// SettingName is the setting holding Settings.
const SettingName = "backup"

// DefaultKeep is the retention when none is set.
const DefaultKeep = 7

// DefaultSettings are the settings until an administrator saves some: off.
func DefaultSettings() Settings { return Settings{Keep: DefaultKeep} }

// Check validates and normalizes s.
func (s *Settings) Check() error {
	s.Dir = strings.TrimSpace(s.Dir)
	if s.Dir != "" {
		if !filepath.IsAbs(s.Dir) || strings.ContainsRune(s.Dir, 0) {
			return fmt.Errorf("dir: %q is not an absolute directory path (leave it empty for the data directory's backups/)", s.Dir)
		}
		s.Dir = filepath.Clean(s.Dir)
	}
	if s.Keep == 0 {
		s.Keep = DefaultKeep
	}
	if s.Keep < 1 || s.Keep > 1000 {
		return fmt.Errorf("keep: %d backups; keep between 1 and 1000", s.Keep)
	}
	return nil
}

// Directory is where backups go for an instance with dataDir.
func (s Settings) Directory(dataDir string) string {
	if s.Dir != "" {
		return s.Dir
	}
	return filepath.Join(dataDir, "backups")
}

// Scheduled takes one scheduled backup into s's directory, then deletes
// the backups beyond the newest s.Keep. It returns the backup and the
// deleted files.
func Scheduled(ctx context.Context, st *store.Store, s Settings, dataDir string, opts Options) (*Result, []File, error) {
	if err := s.Check(); err != nil {
		return nil, nil, err
	}
	opts.WithoutAdvisories = s.WithoutAdvisories
	res, err := WriteInto(ctx, st, s.Directory(dataDir), opts)
	if err != nil {
		return nil, nil, err
	}
	gone, err := Prune(s.Directory(dataDir), s.Keep)
	return res, gone, err
}
