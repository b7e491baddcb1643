// Package sbom reads software bills of materials into a flat list of
// components identified by Package URL.
//
// It reads CycloneDX JSON and XML (spec versions 1.2 to 1.6, including
// components nested under other components and the metadata component),
// SPDX JSON 2.2 and 2.3 (a package's purl external reference), and plain
// PURL lists (one PURL per line, blank lines and lines starting with "#"
// ignored). The format is recognised from the content; the file name only
// sharpens error messages.
//
// It leaves out: SPDX tag-value, RDF and YAML, CycloneDX protobuf,
// dependency graphs and relationships, services, CPEs and hashes, and
// validation of PURLs beyond what identifies a line of a PURL list
// (mapping PURLs to ecosystems is internal/purl's job).
package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
}

// Format is an SBOM format Read recognises.
type Format string

// The formats Read recognises.
const (
	FormatCycloneDXJSON Format = "cyclonedx-json"
	FormatCycloneDXXML  Format = "cyclonedx-xml"
	FormatSPDXJSON      Format = "spdx-json"
	FormatPURLList      Format = "purl-list"
)

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

// Read reads an SBOM from r. The format is recognised from the content:
// a JSON object with bomFormat "CycloneDX" or with an spdxVersion, an XML
// document whose root is a CycloneDX <bom>, or else lines of PURLs. name
// (typically the file name) is used in error messages and, by its
// extension, to say what the content failed to be.
//
// Components are returned in document order, depth first, with the
// metadata component (if any) first. Of components with identical PURLs
// only the first is kept; components without a PURL are all kept.
func Read(r io.Reader, name string) ([]Component, Format, error) {
	label := filepath.Base(name)
	if name == "" {
		label = "input"
	}
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %v", label, err)
	}
	if int64(len(data)) > maxSize {
		return nil, "", fmt.Errorf("%s: larger than the %d MiB limit for SBOMs", label, maxSize>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, "", fmt.Errorf("%s: empty file", label)
	}

	var (
		comps  []Component
		format Format
	)
	switch ext := strings.ToLower(filepath.Ext(name)); {
	case trimmed[0] == '{' || trimmed[0] == '[':
		comps, format, err = readJSON(data)
	case trimmed[0] == '<':
		comps, err = readCycloneDXXML(data)
		format = FormatCycloneDXXML
	case ext == ".json":
		err = fmt.Errorf("not a JSON document: starts with %s", quoteStart(trimmed))
	case ext == ".xml":
		err = fmt.Errorf("not an XML document: starts with %s", quoteStart(trimmed))
	default:
		comps, err = readPURLList(data)
		format = FormatPURLList
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %v", label, err)
	}
	return dedupe(comps), format, nil
}

// readJSON reads a CycloneDX or SPDX JSON document, telling them apart by
// their top-level fields.
func readJSON(data []byte) ([]Component, Format, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		if _, ok := err.(*json.UnmarshalTypeError); ok {
			return nil, "", fmt.Errorf("not a CycloneDX or SPDX document: the JSON is not an object")
		}
		return nil, "", fmt.Errorf("not valid JSON: %v", err)
	}
	var bomFormat string
	if raw, ok := probe["bomFormat"]; ok {
		json.Unmarshal(raw, &bomFormat) // a non-string is reported below
	}
	switch {
	case bomFormat == "CycloneDX":
		comps, err := readCycloneDXJSON(data)
		return comps, FormatCycloneDXJSON, err
	case probe["spdxVersion"] != nil:
		comps, err := readSPDXJSON(data)
		return comps, FormatSPDXJSON, err
	case probe["bomFormat"] != nil:
		return nil, "", fmt.Errorf("not a CycloneDX or SPDX document: bomFormat is %s, want \"CycloneDX\"", truncate(string(probe["bomFormat"])))
	default:
		return nil, "", fmt.Errorf("not a CycloneDX or SPDX document: the JSON object has neither bomFormat nor spdxVersion")
	}
}

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
