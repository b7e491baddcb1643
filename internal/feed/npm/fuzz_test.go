package npm

import (
	"strings"
	"testing"
)

// FuzzValidName checks that accepted package names cannot address a
// parent directory or escape the feed's path space.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"lodash", "@types/node", "../etc/passwd", "@scope/..", ".hidden", "a/b/c", "@x%2fy"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidName(s) {
			return
		}
		if strings.Contains(s, "\\") || strings.HasPrefix(s, "/") || strings.Count(s, "/") > 1 {
			t.Fatalf("ValidName(%q) accepted an unsafe name", s)
		}
		for _, seg := range strings.Split(s, "/") {
			if seg == "." || seg == ".." || seg == "" {
				t.Fatalf("ValidName(%q) accepted element %q", s, seg)
			}
		}
	})
}
