package gomod

import (
	"strings"
	"testing"
)

// FuzzUnescape checks that case-decoding never panics, that what it
// accepts re-encodes to the input, and that validPath never lets a "." or
// ".." element through.
func FuzzUnescape(f *testing.F) {
	for _, s := range []string{"github.com/!azure/azure-sdk-for-go", "v1.2.3", "!", "a!b", "golang.org/x/../y", "stdlib", "A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u, ok := Unescape(s); ok && Escape(u) != s {
			t.Fatalf("Unescape(%q) = %q, which escapes to %q", s, u, Escape(u))
		}
		if p, ok := validPath(s); ok {
			for _, seg := range strings.Split(p, "/") {
				if seg == "." || seg == ".." || seg == "" {
					t.Fatalf("validPath(%q) accepted element %q", s, seg)
				}
			}
		}
	})
}
