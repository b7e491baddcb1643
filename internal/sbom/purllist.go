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
// since "#" inside a PURL starts its subpath. The first other line must be
// a PURL (that is what makes the content a PURL list); any later line that
// is not a syntactically valid PURL becomes a component carrying the error,
// so one bad line does not hide the others. Whether a PURL's type maps to
// an OSV ecosystem is left to the caller.

func readPURLList(data []byte) ([]Component, error) {
	if bytes.IndexByte(data[:min(len(data), 8<<10)], 0) >= 0 {
		return nil, fmt.Errorf("not a CycloneDX or SPDX document or a PURL list: a binary file")
	}
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
			out = append(out, Component{Name: line, Line: n, Err: fmt.Sprintf("line %d: not a PURL: %s", n, truncate(line))})
			continue
		}
		u, err := packageurl.FromString(line)
		if err != nil {
			out = append(out, Component{Name: line, Line: n, Err: fmt.Sprintf("line %d: invalid PURL %s: %v", n, truncate(line), err)})
			continue
		}
		out = append(out, Component{Name: joinNonEmpty(u.Namespace, u.Name), Version: u.Version, PURL: line, Line: n})
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
