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

// TestSummaryPart: the part of details a report-only scan keeps
// (stripUnread) gives the summary the whole details gave, and is no
// longer than what that summary needs.
func TestSummaryPart(t *testing.T) {
	var cases []string
	for _, unit := range []string{"a", "é", "日", "\xff"} {
		for n := summaryRunes - 2; n <= summaryRunes+3; n++ {
			line := strings.Repeat(unit, n)
			cases = append(cases, line, line+"\nmore", line+" tail of the line\nmore", "x\n"+line, line+"\xff", line+"é")
		}
	}
	cases = append(cases, "", "one line", "two\nlines", strings.Repeat("word ", 2000))
	for _, s := range cases {
		p := summaryPart(s)
		if got, want := firstLine(p, summaryRunes), firstLine(s, summaryRunes); got != want {
			t.Errorf("firstLine(summaryPart(%q)) = %q, want %q", s, got, want)
		}
		if !strings.HasPrefix(s, p) || strings.Contains(p, "\n") || len([]rune(p)) > summaryRunes+1 {
			t.Errorf("summaryPart(%q) = %q: not a prefix of the first line of at most %d runes", s, p, summaryRunes+1)
		}
	}
}
