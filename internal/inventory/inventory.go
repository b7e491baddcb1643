// Package inventory turns what a team has into components to scan: SBOMs
// (through internal/sbom), lockfiles, manifests and installed-package
// databases (through the extractors of github.com/google/osv-scalibr, the
// library osv-scanner is built on), whole directories (walked like
// "osv-scanner -r") and a container image's exported filesystem tarball.
// Every input of vulngate that takes an SBOM (scan CLI, scan API, project
// upload) reads through ReadBytes or ReadPath, so they all accept every kind.
//
// A file's kind is recognised by its name (package-lock.json, poetry.lock,
// var/lib/dpkg/status, ...) and, failing that, by its content; a kind can
// be forced (Options.Kind). Each component keeps its source location (file
// and, where the extractor gives it, line) and, where the format says so,
// whether it is a direct or a transitive dependency. Debian and Alpine
// packages are named by their source package (what their advisories name),
// in the release read from the filesystem's etc/os-release.
//
// It leaves out: resolving manifests over the network (pom.xml parents and
// ranges, Gradle builds), binaries, language packages installed in an image
// (site-packages, node_modules), image layers other than one flat
// filesystem tarball, and RPM databases.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/sbom"
)

// Component is one package found in an input.
type Component struct {
	PURL    string // empty when the input gives none (reported as not identifiable)
	Name    string
	Version string
	BOMRef  string
	Path    []string // enclosing SBOM components, for display
	// File is the input file the component was read from, as the user
	// named it (relative to a scanned directory); Line its line there,
	// 0 when the format gives none.
	File string
	Line int
	// Relationship is "direct" or "transitive" where the format says
	// which, else empty.
	Relationship string
	// Err says why the component could not be read (a bad PURL list line).
	Err string
}

// Relationships.
const (
	Direct     = "direct"
	Transitive = "transitive"
)

// File is one input file that was read.
type File struct {
	Path       string   `json:"path"`
	Kind       Kind     `json:"kind"`
	Components int      `json:"components"`
	Warnings   []string `json:"warnings,omitempty"`
	// Error is why the file could not be read; its components are then
	// missing, which callers must report (a directory scan goes on).
	Error string `json:"error,omitempty"`
}

// Result is what an input held.
type Result struct {
	Components []Component
	Files      []File
}

// Options tune reading.
type Options struct {
	// Kind forces the kind of a file input ("package-lock.json",
	// "cyclonedx-json", "dpkg-status", ...), as --input-type does.
	Kind string
}

// MaxFileSize bounds one input file.
const MaxFileSize = sbom.MaxSize

// Kinds lists every kind name Options.Kind accepts.
func Kinds() []string {
	var out []string
	for _, f := range sbom.Formats {
		out = append(out, string(f))
	}
	for _, k := range kinds {
		out = append(out, string(k.name))
	}
	return out
}

// checkKind validates Options.Kind.
func (o Options) checkKind() error {
	if o.Kind == "" || slices.ContainsFunc(Kinds(), func(k string) bool { return strings.EqualFold(k, o.Kind) }) {
		return nil
	}
	return fmt.Errorf("unknown input type %q (known: %s)", o.Kind, strings.Join(Kinds(), ", "))
}

// ReadPath reads a file, a directory (walked) or a filesystem tarball.
// Errors reading one file of a directory are recorded on that File; the
// returned error is for the input as a whole (not found, unreadable,
// unknown kind of a single file).
func ReadPath(ctx context.Context, path string, opts Options) (*Result, error) {
	if err := opts.checkKind(); err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		if opts.Kind != "" {
			return nil, fmt.Errorf("%s: --input-type applies to a file, not a directory", path)
		}
		return readDir(ctx, path)
	}
	if opts.Kind == "" && isTarball(path) {
		return readTarball(ctx, path)
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than the %d MiB limit for one input", path, MaxFileSize>>20)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return readOne(ctx, path, data, opts, diskEnv(path))
}

// ReadBytes reads one input held in memory; name (a file name, possibly
// empty) helps recognise its kind and names it in errors.
func ReadBytes(ctx context.Context, name string, data []byte, opts Options) (*Result, error) {
	if err := opts.checkKind(); err != nil {
		return nil, err
	}
	if int64(len(data)) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than the %d MiB limit for one input", label(name), MaxFileSize>>20)
	}
	return readOne(ctx, name, data, opts, fileEnv{})
}

// ReadReader is ReadBytes on a reader, read up to the size limit.
func ReadReader(ctx context.Context, name string, r io.Reader, opts Options) (*Result, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", label(name), err)
	}
	return ReadBytes(ctx, name, data, opts)
}

func label(name string) string {
	if name == "" {
		return "input"
	}
	return name
}

// readOne reads one file's content: a forced kind, else a kind by name,
// else an SBOM by content, else a kind by content, else an SBOM (whose
// error says what the content failed to be). env gives what lies beside
// the file.
func readOne(ctx context.Context, name string, data []byte, opts Options, env fileEnv) (*Result, error) {
	var k *kind
	switch {
	case opts.Kind != "":
		if kk, ok := kindByName(opts.Kind); ok {
			k = kk
		} else {
			return readSBOM(name, data, sbom.Format(strings.ToLower(opts.Kind)))
		}
	default:
		if kk, ok := kindOf(filepath.ToSlash(name)); ok && name != "" {
			k = kk
		} else if isSBOMContent(data) {
			return readSBOM(name, data, "")
		} else if kk := sniff(data); kk != nil {
			k = kk
		} else {
			return readSBOM(name, data, "")
		}
	}
	comps, warnings, err := extract(ctx, k, name, data, env.osRelease(k), env.siblings)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", label(name), err)
	}
	return &Result{Components: comps, Files: []File{{Path: name, Kind: k.name, Components: len(comps), Warnings: warnings}}}, nil
}

// sniff returns the first kind whose sniffer accepts data.
func sniff(data []byte) *kind {
	for i := range kinds {
		if kinds[i].sniff != nil && kinds[i].sniff(data) {
			return &kinds[i]
		}
	}
	return nil
}

// isSBOMContent reports whether data is unmistakably an SBOM document.
func isSBOMContent(data []byte) bool {
	h := head(data)
	return startsWith(h, "{") && (strings.Contains(string(h), `"bomFormat"`) || strings.Contains(string(h), `"spdxVersion"`) || strings.Contains(string(h), `spdx.org/rdf/3`)) ||
		startsWith(h, "<") && strings.Contains(string(h), "cyclonedx.org/schema/bom") ||
		startsWith(h, "SPDXVersion:") || startsWith(h, "spdxVersion:")
}

func readSBOM(name string, data []byte, want sbom.Format) (*Result, error) {
	d, err := sbom.ReadBytes(data, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", label(filepath.Base(name)), err)
	}
	if want != "" && d.Format != want {
		return nil, fmt.Errorf("%s: --input-type %s, but the content is %s", label(filepath.Base(name)), want, d.Format)
	}
	out := &Result{Files: []File{{Path: name, Kind: Kind(d.Format), Components: len(d.Components), Warnings: d.Warnings}}}
	for _, c := range d.Components {
		out.Components = append(out.Components, Component{PURL: c.PURL, Name: c.Name, Version: c.Version, BOMRef: c.BOMRef, Path: c.Path, File: name, Line: c.Line, Err: c.Err})
	}
	return out, nil
}

// ToScan turns read components into components to scan.
func ToScan(cs []Component) []match.Component {
	out := make([]match.Component, 0, len(cs))
	for _, c := range cs {
		out = append(out, match.Component{Input: c.PURL, Name: c.Name, Version: c.Version, BOMRef: c.BOMRef, Path: c.Path,
			InputError: c.Err, File: c.File, Line: c.Line, Relationship: c.Relationship})
	}
	return out
}

// ErrNothingFound is returned for a directory or tarball without any input
// vulngate can read.
var ErrNothingFound = errors.New("no lockfile, manifest, SBOM or OS package database found")
