package purl

import "strings"

// PyPI: pkg:pypi/name@1.0 -> PyPI "name".
//
// Names are compared in the form PEP 503 defines: lowercase, with every run
// of "-", "_" and "." replaced by a single "-". OSV records keep the
// project's own spelling ("jw.util"), PURLs carry a partly normalized one
// ("jw-util"); both normalize to the same key.

const ecoPyPI = "PyPI"

var fromPyPI = simple(ecoPyPI)

func normalizePyPI(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for _, r := range strings.ToLower(name) {
		if r == '-' || r == '_' || r == '.' {
			sep = true
			continue
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteRune(r)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}
