package pypi

import "testing"

// FuzzParse feeds arbitrary upstream pages to both simple-API parsers:
// they must not panic, and every file they return has an absolute URL
// without a fragment (hashes are split out).
func FuzzParse(f *testing.F) {
	f.Add([]byte(`<a href="../../packages/jinja2-2.11.3.tar.gz#sha256=abc" data-requires-python="&gt;=3.6">jinja2-2.11.3.tar.gz</a>`), false)
	f.Add([]byte(`{"name":"jinja2","files":[{"filename":"x.whl","url":"x.whl","hashes":{"sha256":"00"}}]}`), true)
	f.Add([]byte(`<a href=x data-yanked>`), false)
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		var p *Project
		var err error
		if asJSON {
			p, err = ParseJSON(body, "http://upstream.test/simple/x/")
		} else {
			p, err = ParseHTML(body, "http://upstream.test/simple/x/")
		}
		if err != nil {
			return
		}
		for _, file := range p.Files {
			for i := range len(file.URL) {
				if file.URL[i] == '#' {
					t.Fatalf("URL %q keeps a fragment", file.URL)
				}
			}
		}
	})
}
