package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// CycloneDX: the metadata component and the components list, each with
// the components nested in it. Services, dependencies and the other
// top-level lists are not read.

// cyclonedxXMLNamespace prefixes the XML namespace of every CycloneDX
// spec version ("http://cyclonedx.org/schema/bom/1.5").
const cyclonedxXMLNamespace = "http://cyclonedx.org/schema/bom/"

func readCycloneDXJSON(data []byte) ([]Component, error) {
	var bom cdx.BOM
	if err := json.Unmarshal(data, &bom); err != nil {
		return nil, fmt.Errorf("not a valid CycloneDX JSON document: %v", err)
	}
	return cyclonedxComponents(&bom)
}

func readCycloneDXXML(data []byte) ([]Component, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatXML).Decode(&bom); err != nil {
		return nil, fmt.Errorf("not a CycloneDX XML document: %v", err)
	}
	if !strings.HasPrefix(bom.XMLNS, cyclonedxXMLNamespace) {
		return nil, fmt.Errorf("not a CycloneDX XML document: root element <bom> has namespace %q", bom.XMLNS)
	}
	return cyclonedxComponents(&bom)
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
