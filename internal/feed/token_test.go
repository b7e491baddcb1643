package feed_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/testutil/strsample"
)

// TestTokenMatchesPattern holds Token to the pattern it replaces, over
// edge cases and random strings of bytes in, near and outside the sets.
func TestTokenMatchesPattern(t *testing.T) {
	for _, c := range []struct {
		first, rest string
		max         int
	}{{"a-z0-9", "a-z0-9._-", 62}, {"0-9A-Za-z", "0-9A-Za-z.+_-", 255}, {"-a", "a-", 3}, {"A-Za-z0-9_~-", "A-Za-z0-9._~-", 214}} {
		re := regexp.MustCompile(`^[` + c.first + `][` + c.rest + `]{0,` + strconv.Itoa(c.max) + `}$`)
		first, rest := feed.NewCharset(c.first), feed.NewCharset(c.rest)
		matched := 0
		for _, s := range strsample.Strings(c.max+3, 20000) {
			got, want := feed.Token(s, first, rest, c.max), re.MatchString(s)
			if got != want {
				t.Fatalf("%s: Token(%q) = %v, the pattern says %v", re, s, got, want)
			}
			if want {
				matched++
			}
		}
		if matched < 100 || matched > 19900 {
			t.Fatalf("%s: %d of the samples match: too few of one kind to compare", re, matched)
		}
	}
}

// TestValidateNameMatchesPattern: the feed name check is the pattern
// ^[a-z0-9][a-z0-9._-]{0,62}$ without "..".
func TestValidateNameMatchesPattern(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	for _, s := range strsample.Strings(66, 20000) {
		if got, want := feed.ValidateName(s) == nil, re.MatchString(s) && !strings.Contains(s, ".."); got != want {
			t.Fatalf("ValidateName(%q) ok = %v, want %v", s, got, want)
		}
	}
}
