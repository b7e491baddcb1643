package sbom

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// FuzzRead checks that Read does not panic, that what it returns has no
// duplicate PURLs, and that a PURL list it read reads back the same when
// written out again.
func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"a","purl":"pkg:npm/a@1","components":[{"type":"library","name":"b"}]}]}`), "bom.json")
	f.Add([]byte(`<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components><component type="library"><name>a</name><purl>pkg:npm/a@1</purl></component></components></bom>`), "bom.xml")
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","packages":[{"name":"a","SPDXID":"SPDXRef-a","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:npm/a@1"}]}]}`), "sbom.spdx.json")
	f.Add([]byte("# list\npkg:npm/a@1\n\npkg:npm/a@1\npkg:pypi/b@2\n"), "purls.txt")
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","packages":[null]}`), "null.spdx.json")
	f.Add([]byte("SPDXVersion: SPDX-2.3\nSPDXID: SPDXRef-DOCUMENT\nPackageName: a\nSPDXID: SPDXRef-a\nExternalRef: PACKAGE-MANAGER purl pkg:npm/a@1\n"), "a.spdx")
	f.Add([]byte("spdxVersion: SPDX-2.3\nSPDXID: SPDXRef-DOCUMENT\npackages:\n  - name: a\n    SPDXID: SPDXRef-a\n"), "a.spdx.yaml")
	f.Add([]byte(`{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[{"type":"software_Package","spdxId":"https://e/p","name":"a","software_packageUrl":"pkg:npm/a@1"}]}`), "a.spdx3.json")
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.9","components":[{"name":"a","purl":"pkg:npm/a@1","newField":{"x":1}}]}`), "future.json")
	f.Add([]byte("pkg:npm/a@1\nnot a purl\npkg:npm/@1\n"), "bad.txt")
	f.Add([]byte("[[package]]\nname = \"a\"\n"), "Cargo.lock")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		comps, format, err := Read(bytes.NewReader(data), name)
		if err != nil {
			if format != "" || comps != nil {
				t.Fatalf("Read returned an error and results: %v, %q, %v", err, format, comps)
			}
			return
		}
		if !slices.Contains(Formats, format) {
			t.Fatalf("Read returned unknown format %q", format)
		}
		seen := map[string]bool{}
		var list strings.Builder
		for _, c := range comps {
			if c.Err != "" && format == FormatPURLList {
				list.WriteString(c.Name + "\n") // the line as read
				continue
			}
			if c.PURL == "" {
				continue
			}
			if seen[c.PURL] {
				t.Fatalf("duplicate PURL %q in %v", c.PURL, comps)
			}
			seen[c.PURL] = true
			list.WriteString(c.PURL + "\n")
		}
		if format != FormatPURLList {
			return
		}
		again, format2, err := Read(strings.NewReader(list.String()), "again.txt")
		if len(comps) == 0 {
			return // an empty list reads back as an empty file
		}
		if err != nil || format2 != FormatPURLList || !slices.EqualFunc(comps, again, func(a, b Component) bool {
			return a.PURL == b.PURL && a.Name == b.Name && a.Version == b.Version && (a.Err == "") == (b.Err == "")
		}) {
			t.Fatalf("PURL list %q read as %v, written back and read again as %v, %q, %v", data, comps, again, format2, err)
		}
	})
}
