// Package sbom reads software bills of materials into a flat list of
// components identified by Package URL.
//
// It reads CycloneDX JSON and XML (spec versions 1.2 to 1.7, including
// components nested under other components and the metadata component;
// documents that github.com/CycloneDX/cyclonedx-go cannot read, such as
// newer spec versions, are read by a minimal reader of the components'
// identities, with a warning naming what was ignored), SPDX 2.x JSON,
// tag-value and YAML and SPDX 3.0 JSON-LD (all through
// github.com/spdx/tools-golang; a package's purl external reference), and
// plain PURL lists (one PURL per line, blank lines and lines starting with
// "#" ignored; a malformed line is an error on that component, not on the
// file). The format is recognised from the content; the file name only
// sharpens error messages. A panic in a third-party parser becomes an
// error naming the input.
//
// It leaves out: SPDX RDF, CycloneDX protobuf, dependency graphs and
// relationships, services, CPEs and hashes, vulnerabilities embedded in
// an SBOM, and validation of PURLs beyond what identifies a line of a
// PURL list (mapping PURLs to ecosystems is internal/purl's job).
// Lockfiles, manifests and OS package databases are internal/inventory's.
package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vulngate/vulngate/internal/lazyre"
)

// Component is one component of an SBOM.
//
// Name is the component's name as the SBOM gives it; for CycloneDX
// components with a group it is "group/name", and for a line of a PURL
// list it is the PURL's namespace and name joined with "/". PURL is the
// string the SBOM gives (not canonicalised), empty for components
// that have none; callers report those as not identifiable. BOMRef is the
// CycloneDX bom-ref or the SPDX element ID, if any.
type Component struct {
	Name, Version, PURL, BOMRef string
	Path                        []string // names of enclosing components for nested ones, for display
	// Line is the line of a PURL list the component was read from.
	Line int
	// Err, when not empty, says why this component could not be read (a
	// malformed line of a PURL list); the component is then reported with
	// this error rather than scanned.
	Err string
}

// Document is what ReadDocument read.
type Document struct {
	Components []Component
	Format     Format
	// Warnings say what of the document was not read (fields newer than
	// the parser knows, embedded vulnerabilities, ...).
	Warnings []string
}

// Format is an SBOM format Read recognises.
type Format string

// The formats Read recognises.
const (
	FormatCycloneDXJSON Format = "cyclonedx-json"
	FormatCycloneDXXML  Format = "cyclonedx-xml"
	FormatSPDXJSON      Format = "spdx-json"
	FormatSPDXTagValue  Format = "spdx-tag-value"
	FormatSPDXYAML      Format = "spdx-yaml"
	FormatSPDX3JSON     Format = "spdx3-jsonld"
	FormatPURLList      Format = "purl-list"
)

// Formats lists every format Read recognises.
var Formats = []Format{FormatCycloneDXJSON, FormatCycloneDXXML, FormatSPDXJSON, FormatSPDXTagValue, FormatSPDXYAML, FormatSPDX3JSON, FormatPURLList}

// MaxSize is the largest SBOM, in bytes, that Read accepts.
const MaxSize = 256 << 20

// maxSize is MaxSize, lowered by tests.
var maxSize int64 = MaxSize

// maxDepth bounds how deeply CycloneDX components may nest.
const maxDepth = 64

// ReadFile reads the SBOM in the named file. Errors name the file.
func ReadFile(path string) ([]Component, Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	return Read(f, path)
}

// Read reads an SBOM from r; see ReadDocument. Warnings are dropped.
func Read(r io.Reader, name string) ([]Component, Format, error) {
	d, err := ReadDocument(r, name)
	if err != nil {
		return nil, "", err
	}
	return d.Components, d.Format, nil
}

// ReadDocument reads an SBOM from r. The format is recognised from the
// content: a JSON object with bomFormat "CycloneDX", with an spdxVersion
// or with an SPDX 3 JSON-LD @context, an XML document whose root is a
// CycloneDX <bom>, an SPDX tag-value or YAML document, or else lines of
// PURLs. name (typically the file name) is used in error messages and,
// by its extension, to say what the content failed to be.
//
// Components are returned in document order, depth first, with the
// metadata component (if any) first. Of components with identical PURLs
// only the first is kept; components without a PURL are all kept.
func ReadDocument(r io.Reader, name string) (*Document, error) {
	label := filepath.Base(name)
	if name == "" {
		label = "input"
	}
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", label, err)
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("%s: larger than the %d MiB limit for SBOMs", label, maxSize>>20)
	}
	d, err := ReadBytes(data, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", label, err)
	}
	return d, nil
}

// ReadBytes is ReadDocument on content already in memory; its errors do
// not name the input.
func ReadBytes(data []byte, name string) (*Document, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("empty file")
	}
	d := &Document{}
	var err error
	switch ext := strings.ToLower(filepath.Ext(name)); {
	case trimmed[0] == '{' || trimmed[0] == '[':
		err = readJSON(data, d)
		if err != nil && looksLikeTOML(trimmed) {
			err = fmt.Errorf("not an SBOM: a TOML file (lockfiles such as Cargo.lock, poetry.lock or uv.lock are read by their file name)")
		}
	case trimmed[0] == '<':
		d.Format = FormatCycloneDXXML
		err = guard("CycloneDX XML", func() error { return readCycloneDXXML(data, d) })
	case isSPDXTagValue(trimmed):
		d.Format = FormatSPDXTagValue
		err = readSPDXTagValue(data, d)
	case isSPDXYAML(trimmed):
		d.Format = FormatSPDXYAML
		err = readSPDXYAML(data, d)
	case ext == ".json":
		err = fmt.Errorf("not a JSON document: starts with %s", quoteStart(trimmed))
	case ext == ".xml":
		err = fmt.Errorf("not an XML document: starts with %s", quoteStart(trimmed))
	default:
		d.Format = FormatPURLList
		d.Components, err = readPURLList(data)
	}
	if err != nil {
		return nil, err
	}
	d.Components = dedupe(d.Components)
	return d, nil
}

// guard runs a third-party parser, turning a panic into an error.
func guard(parser string, f func() error) error {
	return Guard("the "+parser+" parser", f)
}

// Guard runs third-party parsing code (what names it, e.g. "the SPDX JSON
// parser"), turning a panic into an error: no input may crash the
// process.
func Guard(what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s failed on this input (%v); the file is malformed or uses a construct it cannot handle", what, r)
		}
	}()
	return f()
}

// readJSON reads a CycloneDX or SPDX JSON document, telling them apart by
// their top-level fields.
func readJSON(data []byte, d *Document) error {
	probe, ok := probeTop(data)
	if !ok {
		if err := json.Unmarshal(data, &probe); err != nil {
			if _, ok := err.(*json.UnmarshalTypeError); ok {
				return fmt.Errorf("not a CycloneDX or SPDX document: the JSON is not an object")
			}
			return fmt.Errorf("not valid JSON: %v", err)
		}
	}
	var bomFormat string
	if raw, ok := probe["bomFormat"]; ok {
		json.Unmarshal(raw, &bomFormat) // a non-string is reported below
	}
	switch {
	case bomFormat == "CycloneDX":
		d.Format = FormatCycloneDXJSON
		return readCycloneDXJSON(data, probe, d)
	case probe["spdxVersion"] != nil:
		d.Format = FormatSPDXJSON
		return readSPDXJSON(data, d)
	case isSPDX3Context(probe["@context"]):
		d.Format = FormatSPDX3JSON
		return readSPDX3(data, d)
	case probe["bomFormat"] != nil:
		return fmt.Errorf("not a CycloneDX or SPDX document: bomFormat is %s, want \"CycloneDX\"", truncate(string(probe["bomFormat"])))
	default:
		return fmt.Errorf("not a CycloneDX or SPDX document: the JSON object has neither bomFormat nor spdxVersion")
	}
}

// looksLikeTOML reports whether content starting with "[" is a TOML
// table header rather than JSON.
func looksLikeTOML(b []byte) bool {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return tomlHeader.Match(bytes.TrimSpace(line))
}

var tomlHeader = lazyre.New(`^\[\[?[A-Za-z0-9_.\-" ]+\]\]?(\s*#.*)?$`)

// dedupe drops components whose PURL an earlier component has.
func dedupe(comps []Component) []Component {
	seen := make(map[string]bool, len(comps))
	out := comps[:0]
	for _, c := range comps {
		if c.PURL != "" {
			if seen[c.PURL] {
				continue
			}
			seen[c.PURL] = true
		}
		out = append(out, c)
	}
	return out
}

// quoteStart quotes the start of b for an error message.
func quoteStart(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return truncate(string(line))
}

// truncate quotes s, shortened to a length fit for an error message.
func truncate(s string) string {
	const max = 60
	if r := []rune(s); len(r) > max {
		return fmt.Sprintf("%q...", string(r[:max]))
	}
	return fmt.Sprintf("%q", s)
}
