package sbom

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// CycloneDX: the metadata component and the components list, each with
// the components nested in it. Services, dependencies and the other
// top-level lists are not read.

// cyclonedxXMLNamespace prefixes the XML namespace of every CycloneDX
// spec version ("http://cyclonedx.org/schema/bom/1.5").
const cyclonedxXMLNamespace = "http://cyclonedx.org/schema/bom/"

// cyclonedxRead are the top-level CycloneDX fields this package reads;
// others are named in a warning when the document could only be read by
// the minimal reader, or when they carry data a user may expect to count
// (embedded vulnerabilities).
var cyclonedxRead = map[string]bool{"bomFormat": true, "specVersion": true, "serialNumber": true, "version": true, "metadata": true, "components": true, "$schema": true}

func readCycloneDXJSON(data []byte, probe map[string]json.RawMessage, d *Document) error {
	var bom cdx.BOM
	err := guard("CycloneDX JSON", func() error { return unmarshalV1(data, &bom, func() { bom = cdx.BOM{} }) })
	if err == nil {
		if probe["vulnerabilities"] != nil {
			d.Warnings = append(d.Warnings, "vulnerabilities embedded in the SBOM were ignored (findings come from vulngate's own advisories)")
		}
		d.Components, err = cyclonedxComponents(&bom)
		return err
	}
	// Newer spec versions, or fields whose shape cyclonedx-go does not
	// know: read the components' identities, which every version keeps.
	var min minimalBOM
	if json.Unmarshal(data, &min) != nil || min.Components == nil && min.Metadata.Component == nil {
		return fmt.Errorf("not a valid CycloneDX JSON document: %v", err)
	}
	var ignored []string
	for k := range probe {
		if !cyclonedxRead[k] {
			ignored = append(ignored, k)
		}
	}
	slices.Sort(ignored)
	w := fmt.Sprintf("CycloneDX %s: cyclonedx-go could not read the document (%v); components were read by their name, group, version, purl and bom-ref only", min.SpecVersion, err)
	if len(ignored) > 0 {
		w += "; ignored top-level fields: " + strings.Join(ignored, ", ")
	}
	d.Warnings = append(d.Warnings, w)
	d.Components, err = cyclonedxComponents(min.toBOM())
	return err
}

// minimalBOM is the part of a CycloneDX JSON document that identifies its
// components, which has kept its shape in every spec version.
type minimalBOM struct {
	SpecVersion string `json:"specVersion"`
	Metadata    struct {
		Component *minimalComponent `json:"component"`
	} `json:"metadata"`
	Components *[]minimalComponent `json:"components"`
}

type minimalComponent struct {
	BOMRef     string              `json:"bom-ref" xml:"bom-ref,attr"`
	Group      string              `json:"group" xml:"group"`
	Name       string              `json:"name" xml:"name"`
	Version    string              `json:"version" xml:"version"`
	PURL       string              `json:"purl" xml:"purl"`
	Components *[]minimalComponent `json:"components" xml:"components>component"`
}

func (m *minimalBOM) toBOM() *cdx.BOM {
	b := &cdx.BOM{}
	if m.Metadata.Component != nil {
		c := m.Metadata.Component.toComponent()
		b.Metadata = &cdx.Metadata{Component: &c}
	}
	if m.Components != nil {
		b.Components = toComponents(*m.Components)
	}
	return b
}

func (m minimalComponent) toComponent() cdx.Component {
	c := cdx.Component{BOMRef: m.BOMRef, Group: m.Group, Name: m.Name, Version: m.Version, PackageURL: m.PURL}
	if m.Components != nil {
		c.Components = toComponents(*m.Components)
	}
	return c
}

func toComponents(ms []minimalComponent) *[]cdx.Component {
	out := make([]cdx.Component, len(ms))
	for i, m := range ms {
		out[i] = m.toComponent()
	}
	return &out
}

// minimalXMLBOM is minimalBOM for XML documents.
type minimalXMLBOM struct {
	XMLName     xml.Name
	SpecVersion string `xml:"version,attr"`
	Metadata    struct {
		Component *minimalComponent `xml:"component"`
	} `xml:"metadata"`
	Components *[]minimalComponent `xml:"components>component"`
}

func readCycloneDXXML(data []byte, d *Document) error {
	var bom cdx.BOM
	err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatXML).Decode(&bom)
	if err == nil {
		if !strings.HasPrefix(bom.XMLNS, cyclonedxXMLNamespace) {
			return fmt.Errorf("not a CycloneDX XML document: root element <bom> has namespace %q", bom.XMLNS)
		}
		d.Components, err = cyclonedxComponents(&bom)
		return err
	}
	var min minimalXMLBOM
	if xml.Unmarshal(data, &min) != nil || min.XMLName.Local != "bom" || !strings.HasPrefix(min.XMLName.Space, cyclonedxXMLNamespace) ||
		min.Components == nil && min.Metadata.Component == nil {
		return fmt.Errorf("not a CycloneDX XML document: %v", err)
	}
	d.Warnings = append(d.Warnings, fmt.Sprintf("CycloneDX %s: cyclonedx-go could not read the document (%v); components were read by their name, group, version, purl and bom-ref only",
		strings.TrimPrefix(min.XMLName.Space, cyclonedxXMLNamespace), err))
	mb := minimalBOM{Components: min.Components}
	mb.Metadata.Component = min.Metadata.Component
	d.Components, err = cyclonedxComponents(mb.toBOM())
	return err
}

func cyclonedxComponents(bom *cdx.BOM) ([]Component, error) {
	var out []Component
	if bom.Metadata != nil && bom.Metadata.Component != nil {
		// The component the SBOM describes is scanned when it has a
		// PURL (a library's own SBOM); an application without one is not
		// a package to look up, but what it nests still is.
		meta := *bom.Metadata.Component
		var err error
		if strings.TrimSpace(meta.PackageURL) != "" {
			out, err = walkCycloneDX(out, []cdx.Component{meta}, nil)
		} else if meta.Components != nil {
			out, err = walkCycloneDX(out, *meta.Components, []string{strings.TrimSpace(meta.Name)})
		}
		if err != nil {
			return nil, err
		}
	}
	if bom.Components != nil {
		var err error
		if out, err = walkCycloneDX(out, *bom.Components, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// walkCycloneDX appends comps and, after each, the components nested in
// it, depth first. path names the enclosing components.
func walkCycloneDX(out []Component, comps []cdx.Component, path []string) ([]Component, error) {
	if len(path) > maxDepth {
		return nil, fmt.Errorf("components nested more than %d deep (under %s)", maxDepth, strings.Join(path[:3], " > ")+" > ...")
	}
	for i := range comps {
		c := &comps[i]
		name := strings.TrimSpace(c.Name)
		if g := strings.TrimSpace(c.Group); g != "" {
			name = g + "/" + name
		}
		out = append(out, Component{
			Name:    name,
			Version: strings.TrimSpace(c.Version),
			PURL:    strings.TrimSpace(c.PackageURL),
			BOMRef:  c.BOMRef,
			Path:    path,
		})
		if c.Components != nil && len(*c.Components) > 0 {
			inner := make([]string, len(path), len(path)+1)
			copy(inner, path)
			inner = append(inner, name)
			var err error
			if out, err = walkCycloneDX(out, *c.Components, inner); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
