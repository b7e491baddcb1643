package pypi

import (
	"slices"
	"testing"
)

func TestPublishedVersions(t *testing.T) {
	// PEP 503 HTML: versions from wheel and sdist names; a version whose
	// every file is yanked is left out, one with a file left is kept.
	page := []byte(`<html><body>
<a href="../../files/Jinja2-2.11.2-py2.py3-none-any.whl#sha256=aa">Jinja2-2.11.2-py2.py3-none-any.whl</a>
<a href="../../files/Jinja2-2.11.2.tar.gz#sha256=bb">Jinja2-2.11.2.tar.gz</a>
<a href="../../files/Jinja2-2.10.tar.gz" data-yanked="">Jinja2-2.10.tar.gz</a>
<a href="../../files/Jinja2-2.11.3-py2.py3-none-any.whl" data-yanked="broken">Jinja2-2.11.3-py2.py3-none-any.whl</a>
<a href="../../files/Jinja2-2.11.3.tar.gz">Jinja2-2.11.3.tar.gz</a>
<a href="../../files/Jinja2-3.0.0a1.tar.gz">Jinja2-3.0.0a1.tar.gz</a>
<a href="../../files/other-1.0.tar.gz">other-1.0.tar.gz</a>
</body></html>`)
	proj, err := ParseHTML(page, "http://up.test/simple/jinja2/")
	if err != nil {
		t.Fatal(err)
	}
	proj.Name = "jinja2"
	if got, want := PublishedVersions(proj), []string{"2.11.2", "2.11.3", "3.0.0a1"}; !slices.Equal(got, want) {
		t.Errorf("HTML page: %q, want %q", got, want)
	}
	// PEP 691 JSON: "yanked" false, true or a reason.
	js := []byte(`{"meta":{"api-version":"1.0"},"name":"django","files":[
		{"filename":"Django-2.0.13-py3-none-any.whl","url":"https://f.test/a","hashes":{},"yanked":false},
		{"filename":"Django-2.1.1-py3-none-any.whl","url":"https://f.test/b","hashes":{},"yanked":true},
		{"filename":"Django-2.1.2-py3-none-any.whl","url":"https://f.test/c","hashes":{},"yanked":"security"},
		{"filename":"Django-2.2.tar.gz","url":"https://f.test/d","hashes":{}}]}`)
	if proj, err = ParseJSON(js, "http://up.test/simple/django/"); err != nil {
		t.Fatal(err)
	}
	proj.Name = "django"
	if got, want := PublishedVersions(proj), []string{"2.0.13", "2.2"}; !slices.Equal(got, want) {
		t.Errorf("JSON page: %q, want %q", got, want)
	}
}
