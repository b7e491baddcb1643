package server

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/server/catalog"
	"github.com/vulngate/vulngate/internal/store"
)

// TestAdvisoryTextIsEscaped renders a hostile record: its text must be
// escaped and only http(s) references become links.
func TestAdvisoryTextIsEscaped(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"id":"EVIL-1","modified":"2024-01-01T00:00:00Z","summary":"<script>alert(1)</script>",
"details":"<img src=x onerror=alert(2)>","affected":[{"package":{"ecosystem":"npm","name":"<b>pkg</b>"},"versions":["1.0.0"]}],
"references":[{"type":"WEB","url":"javascript:alert(3)"},{"type":"WEB","url":"https://example.com/advisory?a=1&b=2"},{"type":"WEB","url":"data:text/html,<script>"}]}`)
	if _, err := osv.Parse(data); err != nil {
		t.Fatal(err)
	}
	d, ok := catalog.BuildDetail("EVIL-1", []store.Advisory{{Partition: "npm", Source: "OSV", ID: "EVIL-1", Data: data}})
	if !ok {
		t.Fatal("no detail")
	}
	var buf bytes.Buffer
	if err := pages["vuln"].ExecuteTemplate(&buf, "layout", pageData{Title: d.ID, Data: map[string]any{"D": d}}); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, bad := range []string{"<script>alert", "<img src=x", "<b>pkg</b>", `href="javascript:`, `href="data:`} {
		if strings.Contains(html, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if !strings.Contains(html, `href="https://example.com/advisory?a=1&amp;b=2"`) {
		t.Error("the https reference is not a link")
	}
	if !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the summary is not shown escaped")
	}
}
