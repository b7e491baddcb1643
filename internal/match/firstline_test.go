package match

import (
	"strings"
	"testing"
)

// TestFirstLine: the summary taken from details is what converting the
// whole line to runes gave: cut at the limit in runes (an invalid byte is
// one), with "…" only when cut.
func TestFirstLine(t *testing.T) {
	old := func(s string, limit int) string {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[:i]
		}
		if r := []rune(s); len(r) > limit {
			s = string(r[:limit]) + "…"
		}
		return s
	}
	for _, s := range []string{"", "short", "line one\nline two", strings.Repeat("é", 5), strings.Repeat("é", 6), "ab\xffcd", "abc\xff\xfe",
		strings.Repeat("x", 4) + "\xff", "日本語テキスト", strings.Repeat("a", 5) + "\nb"} {
		for limit := 1; limit <= 7; limit++ {
			if got, want := firstLine(s, limit), old(s, limit); got != want {
				t.Errorf("firstLine(%q, %d) = %q, want %q", s, limit, got, want)
			}
		}
	}
}
