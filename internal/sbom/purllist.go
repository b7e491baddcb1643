package sbom

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"
)

// PURL list: one PURL per line. Blank lines and lines whose first
// non-space character is "#" are skipped; there are no trailing comments,
// since "#" inside a PURL starts its subpath. Every other line must be a
// syntactically valid PURL; whether its type maps to an OSV ecosystem is
// left to the caller.

func readPURLList(data []byte) ([]Component, error) {
	var out []Component
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(line) < 4 || !strings.EqualFold(line[:4], "pkg:") {
			if out == nil {
				return nil, fmt.Errorf("not a CycloneDX or SPDX document or a PURL list: line %d is %s", n, truncate(line))
			}
			return nil, fmt.Errorf("line %d: not a PURL: %s", n, truncate(line))
		}
		u, err := packageurl.FromString(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: invalid PURL %s: %v", n, truncate(line), err)
		}
		out = append(out, Component{Name: joinNonEmpty(u.Namespace, u.Name), Version: u.Version, PURL: line})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func joinNonEmpty(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
