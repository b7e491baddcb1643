package npm

import (
	"regexp"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/testutil/strsample"
)

// TestNameAndVersionChecksMatchPatterns holds the byte-by-byte name and
// version checks to the patterns they replace (see npm.go).
func TestNameAndVersionChecksMatchPatterns(t *testing.T) {
	part := `[A-Za-z0-9][A-Za-z0-9._~-]*|[_~-][A-Za-z0-9._~-]*`
	nameRE := regexp.MustCompile(`^(?:@(?:` + part + `)/)?(?:` + part + `)$`)
	versionRE := regexp.MustCompile(`^v?[0-9A-Za-z][0-9A-Za-z.+_-]{0,255}$`)
	names := append(strsample.Strings(220, 30000), "@a/b", "@a/b/c", "@/b", "@a/", "a/b", "@@a/b", "@a/.b", "@.a/b", "_a", "~a", "-a", ".a", "@_a/~b")
	valid := 0
	for _, s := range names {
		want := len(s) <= 214 && nameRE.MatchString(s)
		for seg := range strings.SplitSeq(s, "/") {
			if seg == "." || seg == ".." || strings.HasPrefix(strings.TrimPrefix(seg, "@"), ".") {
				want = false
			}
		}
		if got := ValidName(s); got != want {
			t.Fatalf("ValidName(%q) = %v, want %v", s, got, want)
		}
		if want {
			valid++
		}
	}
	if valid < 100 {
		t.Fatalf("only %d valid names among the samples", valid)
	}
	for _, s := range append(strsample.Strings(260, 30000), "v", "vv", "v1", "v.", "1", ".1", "v"+strings.Repeat("1", 256), strings.Repeat("1", 257)) {
		if got, want := validVersion(s), versionRE.MatchString(s); got != want {
			t.Fatalf("validVersion(%q) = %v, want %v", s, got, want)
		}
	}
}
