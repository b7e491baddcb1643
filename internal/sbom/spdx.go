package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
	spdx3 "github.com/spdx/tools-golang/spdx/v3/v3_0"
	spdxtv "github.com/spdx/tools-golang/tagvalue"
	spdxyaml "github.com/spdx/tools-golang/yaml"
)

// SPDX: each package, with the PURL from its first external reference of
// type "purl". SPDX 2.x serialisations are read by tools-golang into its
// SPDX 2.3 model; SPDX 3.0 JSON-LD by its 3.0 model (tools-golang
// v0.6.0-rc4, the first release that reads SPDX 3; its JSON-LD context is
// built in, nothing is fetched), taking each software_Package's name,
// packageVersion and packageUrl. Files, snippets and relationships are
// not read, so Component.Path is always empty.

func readSPDXJSON(data []byte, d *Document) error {
	return readSPDX("SPDX JSON", spdxjson.Read, data, d)
}

func readSPDXTagValue(data []byte, d *Document) error {
	return readSPDX("SPDX tag-value", spdxtv.Read, data, d)
}

func readSPDXYAML(data []byte, d *Document) error {
	return readSPDX("SPDX YAML", spdxyaml.Read, data, d)
}

func readSPDX(what string, read func(io.Reader) (*spdx.Document, error), data []byte, d *Document) error {
	var doc *spdx.Document
	if err := guard(what, func() (err error) {
		doc, err = read(bytes.NewReader(data))
		return err
	}); err != nil {
		return fmt.Errorf("not a valid %s document: %v", what, err)
	}
	if doc == nil {
		return fmt.Errorf("not a valid %s document: empty", what)
	}
	for _, p := range doc.Packages {
		if p == nil {
			continue
		}
		c := Component{
			Name:    strings.TrimSpace(p.PackageName),
			Version: strings.TrimSpace(p.PackageVersion),
		}
		if p.PackageSPDXIdentifier != "" {
			c.BOMRef = "SPDXRef-" + string(p.PackageSPDXIdentifier)
		}
		for _, ref := range p.PackageExternalReferences {
			if ref != nil && strings.EqualFold(ref.RefType, "purl") && strings.TrimSpace(ref.Locator) != "" {
				c.PURL = strings.TrimSpace(ref.Locator)
				break
			}
		}
		d.Components = append(d.Components, c)
	}
	return nil
}

func readSPDX3(data []byte, d *Document) error {
	var doc spdx3.Document
	if err := guard("SPDX 3 JSON-LD", func() error { return doc.FromJSON(bytes.NewReader(data)) }); err != nil {
		return fmt.Errorf("not a valid SPDX 3.0 JSON-LD document: %v", err)
	}
	for _, e := range doc.Elements {
		p, ok := e.(*spdx3.Package)
		if !ok || p == nil {
			continue
		}
		d.Components = append(d.Components, Component{
			Name:    strings.TrimSpace(p.Name),
			Version: strings.TrimSpace(p.Version),
			PURL:    strings.TrimSpace(string(p.PackageURL)),
			BOMRef:  p.ID,
		})
	}
	return nil
}

// isSPDXTagValue reports whether content is an SPDX tag-value document:
// its first line that is not a comment is an SPDXVersion tag.
func isSPDXTagValue(b []byte) bool {
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		return bytes.HasPrefix(line, []byte("SPDXVersion:"))
	}
	return false
}

// isSPDXYAML reports whether content is an SPDX YAML document: a
// top-level spdxVersion key among its first lines.
func isSPDXYAML(b []byte) bool {
	n := 0
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if n++; n > 200 {
			break
		}
		if bytes.HasPrefix(line, []byte("spdxVersion:")) {
			return true
		}
	}
	return false
}

// isSPDX3Context reports whether a JSON-LD @context names the SPDX 3
// context.
func isSPDX3Context(raw json.RawMessage) bool {
	if raw == nil {
		return false
	}
	var ctx string
	if json.Unmarshal(raw, &ctx) != nil {
		return false
	}
	return strings.HasPrefix(ctx, "https://spdx.org/rdf/3.")
}
