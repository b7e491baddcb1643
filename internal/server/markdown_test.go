package server

import (
	"strings"
	"testing"
)

func TestRenderMarkdown(t *testing.T) {
	in := "## Impact\n\nA *remote* attacker can run code. See [the fix](https://example.test/commit/1) and <https://example.test/a>.\n\n" +
		"<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3)) [data](data:text/html,<b>x</b>) [rel](/relative)\n\n" +
		"![tracker](https://example.test/pixel.png)\n\n```\ncode <b>\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
	out := string(renderMarkdown(in))
	for _, want := range []string{"<h2>Impact</h2>", "<em>remote</em>", `<a href="https://example.test/commit/1" rel="noopener noreferrer nofollow" target="_blank">the fix</a>`,
		`href="https://example.test/a"`, "&lt;b&gt;", "<table>", "click", "[image: tracker]"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"<script", "<img", "onerror", "javascript:", "data:text", `href="/relative"`, "pixel.png"} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds %q:\n%s", bad, out)
		}
	}
}

func FuzzRenderMarkdown(f *testing.F) {
	f.Add("[x](javascript:alert(1)) <script>x</script> ![i](http://a/b.png)")
	f.Add("<JAVASCRIPT:alert(1)> [a](  http://ok ) [b](vbscript:x)")
	f.Add("* a\n  * b\n\n> q\n\n| x |\n|---|\n| <i>y</i> |")
	f.Fuzz(func(t *testing.T, s string) {
		out := strings.ToLower(string(renderMarkdown(s)))
		for _, bad := range []string{"<script", "<img", "<iframe", `href="javascript:`, `href="data:`, `href="vbscript:`} {
			if strings.Contains(out, bad) {
				t.Fatalf("%q rendered %q", s, out)
			}
		}
	})
}
