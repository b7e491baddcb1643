package gomod

import (
	"strings"
	"testing"

	"golang.org/x/mod/module"
)

// FuzzUnescape checks that decoding module paths and versions never
// panics, that what validPath accepts re-encodes to the input, and that
// it never lets an empty, "." or ".." element through.
func FuzzUnescape(f *testing.F) {
	for _, s := range []string{"github.com/!azure/azure-sdk-for-go", "v1.2.3", "!", "a!b", "golang.org/x/../y", "stdlib", "A", "v1.1.0-!r!c1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, ok := validPath(s); ok {
			if esc, err := module.EscapePath(p); err != nil || esc != s {
				t.Fatalf("validPath(%q) = %q, which escapes to %q (%v)", s, p, esc, err)
			}
			for _, seg := range strings.Split(p, "/") {
				if seg == "." || seg == ".." || seg == "" {
					t.Fatalf("validPath(%q) accepted element %q", s, seg)
				}
			}
		}
		if v, ok := validVersion(s); ok && (strings.ContainsAny(v, "/\\") || v == ".." || v == ".") {
			t.Fatalf("validVersion(%q) = %q", s, v)
		}
	})
}
