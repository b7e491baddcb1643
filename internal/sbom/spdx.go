package sbom

import (
	"bytes"
	"fmt"
	"strings"

	spdxjson "github.com/spdx/tools-golang/json"
)

// SPDX JSON: each package, with the PURL from its first external reference
// of type "purl". Files, snippets and relationships are not read, so
// Component.Path is always empty.

func readSPDXJSON(data []byte) ([]Component, error) {
	doc, err := spdxjson.Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a valid SPDX JSON document: %v", err)
	}
	var out []Component
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
		out = append(out, c)
	}
	return out, nil
}
