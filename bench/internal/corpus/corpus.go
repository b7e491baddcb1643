// Package corpus reads the offline OSV corpus used by the benchmark harness:
// the ecosystems.txt list, entry counts of <Ecosystem>/all.zip and the record
// IDs they hold. It only reads; it parses no more of a record than the
// benchmark needs (see Record) and does not validate records.
package corpus

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Ecosystems returns the ecosystem names listed in <dir>/ecosystems.txt.
func Ecosystems(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, "ecosystems.txt"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}

// ZipPath is the path of an ecosystem's all.zip inside a bucket-layout dir.
func ZipPath(dir, eco string) string { return filepath.Join(dir, eco, "all.zip") }

// CountEntries returns the number of .json entries in a zip file.
func CountEntries(zipPath string) (int, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	n := 0
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, ".json") {
			n++
		}
	}
	return n, nil
}

// IDs returns the record IDs (entry names without ".json") of a zip file.
func IDs(zipPath string) ([]string, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var out []string
	for _, f := range zr.File {
		if id, ok := strings.CutSuffix(f.Name, ".json"); ok {
			out = append(out, id)
		}
	}
	return out, nil
}

// Record is the part of an OSV record the benchmark looks at.
type Record struct {
	ID        string   `json:"id"`
	Withdrawn string   `json:"withdrawn"`
	Aliases   []string `json:"aliases"`
	Affected  []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Introduced   string `json:"introduced"`
				Fixed        string `json:"fixed"`
				LastAffected string `json:"last_affected"`
				Limit        string `json:"limit"`
			} `json:"events"`
		} `json:"ranges"`
		Versions []string `json:"versions"`
	} `json:"affected"`
}

// ReadEntry returns the inflated contents of one zip entry.
func ReadEntry(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Walk calls fn for every record of a zip file, in entry order.
func Walk(zipPath string, fn func(*Record) error) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		b, err := ReadEntry(f)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", zipPath, f.Name, err)
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %s: %w", zipPath, f.Name, err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}
