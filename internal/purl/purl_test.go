package purl

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vulngate/vulngate/internal/osv"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Package
	}{
		// npm
		{"pkg:npm/left-pad@1.3.0", Package{"npm", "left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0"}},
		{"pkg:npm/%40babel/core@7.22.0", Package{"npm", "@babel/core", "7.22.0", "pkg:npm/%40babel/core@7.22.0"}},
		{"pkg:npm/@babel/core@7.22.0", Package{"npm", "@babel/core", "7.22.0", "pkg:npm/%40babel/core@7.22.0"}},
		{"pkg:npm/babel/core", Package{"npm", "@babel/core", "", "pkg:npm/babel/core"}},
		{"pkg:npm/JSONStream@1.3.5#lib/index.js", Package{"npm", "JSONStream", "1.3.5", "pkg:npm/JSONStream@1.3.5#lib/index.js"}},
		// PyPI: the PURL library lowercases and turns "_" into "-".
		{"pkg:pypi/Django_Rest@3.0?extension=whl", Package{"PyPI", "django-rest", "3.0", "pkg:pypi/django-rest@3.0?extension=whl"}},
		{"pkg:pypi/jw.util@1.0", Package{"PyPI", "jw.util", "1.0", "pkg:pypi/jw.util@1.0"}},
		// Go keeps case and the leading v.
		{"pkg:golang/example.com/BurntSushi/toml@v1.3.2", Package{"Go", "example.com/BurntSushi/toml", "v1.3.2", "pkg:golang/example.com/BurntSushi/toml@v1.3.2"}},
		{"pkg:golang/golang.org/x/net@v0.17.0#http2", Package{"Go", "golang.org/x/net", "v0.17.0", "pkg:golang/golang.org/x/net@v0.17.0#http2"}},
		{"pkg:golang/stdlib@1.21.3", Package{"Go", "stdlib", "1.21.3", "pkg:golang/stdlib@1.21.3"}},
		{"pkg:golang/%2F/x@v1", Package{"Go", "x", "v1", "pkg:golang/x@v1"}},
		{"pkg:golang/example.com/m%2Fv2@v2.0.0", Package{"Go", "example.com/m/v2", "v2.0.0", "pkg:golang/example.com/m%2Fv2@v2.0.0"}},
		// Maven
		{"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar&classifier=sources", Package{"Maven", "org.apache.logging.log4j:log4j-core", "2.14.1", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?classifier=sources&type=jar"}},
		{"pkg:maven/xerces/xercesImpl@2.12.0", Package{"Maven", "xerces:xercesImpl", "2.12.0", "pkg:maven/xerces/xercesImpl@2.12.0"}},
		// NuGet
		{"pkg:nuget/Newtonsoft.Json@13.0.1", Package{"NuGet", "Newtonsoft.Json", "13.0.1", "pkg:nuget/Newtonsoft.Json@13.0.1"}},
		// encoded non-ASCII characters
		{"pkg:nuget/Blo%D1%81kcore.Tests@1.0", Package{"NuGet", "Bloсkcore.Tests", "1.0", "pkg:nuget/Blo%D1%81kcore.Tests@1.0"}},
		// RubyGems
		{"pkg:gem/nokogiri@1.15.0?platform=java", Package{"RubyGems", "nokogiri", "1.15.0", "pkg:gem/nokogiri@1.15.0?platform=java"}},
		// crates.io
		{"pkg:cargo/tokio@1.32.0", Package{"crates.io", "tokio", "1.32.0", "pkg:cargo/tokio@1.32.0"}},
		// Packagist
		{"pkg:composer/Laravel/Framework@7.12.0", Package{"Packagist", "laravel/framework", "7.12.0", "pkg:composer/laravel/framework@7.12.0"}},
		// Hex, Pub, CRAN, Hackage, ConanCenter, Bitnami
		{"pkg:hex/phoenix@1.7.0", Package{"Hex", "phoenix", "1.7.0", "pkg:hex/phoenix@1.7.0"}},
		{"pkg:pub/http@1.1.0", Package{"Pub", "http", "1.1.0", "pkg:pub/http@1.1.0"}},
		{"pkg:cran/ggplot2@3.4.0", Package{"CRAN", "ggplot2", "3.4.0", "pkg:cran/ggplot2@3.4.0"}},
		{"pkg:hackage/aeson@2.1.0.0", Package{"Hackage", "aeson", "2.1.0.0", "pkg:hackage/aeson@2.1.0.0"}},
		{"pkg:conan/openssl@3.0.0?channel=stable&user=bincrafters", Package{"ConanCenter", "openssl", "3.0.0", "pkg:conan/openssl@3.0.0?channel=stable&user=bincrafters"}},
		{"pkg:bitnami/wordpress@6.2.0?arch=arm64&distro=debian-12", Package{"Bitnami", "wordpress", "6.2.0", "pkg:bitnami/wordpress@6.2.0?arch=arm64&distro=debian-12"}},
		// Julia
		{"pkg:julia/HTTP@1.10.0?uuid=cd3eb016-35fb-5094-929b-558a96fad6f3", Package{"Julia", "HTTP", "1.10.0", "pkg:julia/HTTP@1.10.0?uuid=cd3eb016-35fb-5094-929b-558a96fad6f3"}},
		// SwiftURL
		{"pkg:swift/example.com/apple/swift-nio@2.58.0", Package{"SwiftURL", "example.com/apple/swift-nio", "2.58.0", "pkg:swift/example.com/apple/swift-nio@2.58.0"}},
		// GitHub Actions; the subpath is ignored.
		{"pkg:github/actions/checkout@v4#sub/dir", Package{"GitHub Actions", "actions/checkout", "v4", "pkg:github/actions/checkout@v4#sub/dir"}},
		// Debian
		{"pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12", Package{"Debian:12", "openssl", "3.0.11-1~deb12u2", "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"}},
		{"pkg:deb/debian/curl@7.74.0-1.3?distro=bullseye", Package{"Debian:11", "curl", "7.74.0-1.3", "pkg:deb/debian/curl@7.74.0-1.3?distro=bullseye"}},
		{"pkg:deb/debian/curl@7.88.1?distro=debian-12.5", Package{"Debian:12", "curl", "7.88.1", "pkg:deb/debian/curl@7.88.1?distro=debian-12.5"}},
		{"pkg:deb/debian/tzdata?arch=source", Package{"Debian", "tzdata", "", "pkg:deb/debian/tzdata?arch=source"}},
		{"pkg:deb/debian/dpkg@1:1.2?distro=stretch", Package{"Debian:9", "dpkg", "1:1.2", "pkg:deb/debian/dpkg@1:1.2?distro=stretch"}},
		// Ubuntu
		{"pkg:deb/ubuntu/openssl@3.0.2?distro=ubuntu-22.04", Package{"Ubuntu:22.04:LTS", "openssl", "3.0.2", "pkg:deb/ubuntu/openssl@3.0.2?distro=ubuntu-22.04"}},
		{"pkg:deb/ubuntu/openssl@3.0.2?distro=oracular", Package{"Ubuntu:24.10", "openssl", "3.0.2", "pkg:deb/ubuntu/openssl@3.0.2?distro=oracular"}},
		{"pkg:deb/ubuntu/linux@3.13.0-206.257?arch=source&distro=esm-infra-legacy/trusty", Package{"Ubuntu:Pro:14.04:LTS", "linux", "3.13.0-206.257", "pkg:deb/ubuntu/linux@3.13.0-206.257?arch=source&distro=esm-infra-legacy%2Ftrusty"}},
		// Alpine
		{"pkg:apk/alpine/musl@1.2.4-r2?distro=3.18.4", Package{"Alpine:v3.18", "musl", "1.2.4-r2", "pkg:apk/alpine/musl@1.2.4-r2?distro=3.18.4"}},
		{"pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18", Package{"Alpine:v3.18", "musl", "1.2.4-r2", "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18"}},
		{"pkg:apk/alpine/musl?arch=source", Package{"Alpine", "musl", "", "pkg:apk/alpine/musl?arch=source"}},
		// AlmaLinux, with the epoch folded into the version
		{"pkg:rpm/almalinux/openssl@3.0.7-24.el9?distro=almalinux-9&epoch=1", Package{"AlmaLinux:9", "openssl", "1:3.0.7-24.el9", "pkg:rpm/almalinux/openssl@3.0.7-24.el9?distro=almalinux-9&epoch=1"}},
		{"pkg:rpm/almalinux/bash@4.4.20-4.el8_6?distro=el8", Package{"AlmaLinux:8", "bash", "4.4.20-4.el8_6", "pkg:rpm/almalinux/bash@4.4.20-4.el8_6?distro=el8"}},
		// Spaces around the input, and upper-case scheme and type.
		{"  PKG:NPM/lodash@4.17.21\n", Package{"npm", "lodash", "4.17.21", "pkg:npm/lodash@4.17.21"}},
	} {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr string // substring of the error, besides the input itself
	}{
		{"", "empty"},
		{"pkg:", "is missing type or name"},
		{"notapurl", `scheme is not "pkg"`},
		{"pkg:npm/", "is missing name"},
		{"pkg:npm/@4.17.21", "missing name"},
		{"pkg:unknowntype/x@1", `unsupported type "unknowntype"`},
		{"pkg:generic/openssl@3.0", `unsupported type "generic"`},
		{"pkg:maven/log4j-core@2.14.1", "no namespace (group ID)"},
		{"pkg:composer/framework@7", "no namespace (vendor)"},
		{"pkg:github/checkout@v4", "no namespace"},
		{"pkg:swift/swift-nio@2", "namespace is required"},
		{"pkg:cargo/ns/tokio@1", "have no namespace"},
		{"pkg:julia/HTTP@1.0", "uuid"},
		{"pkg:deb/kali/openssl@1", `unsupported deb namespace "kali"`},
		{"pkg:deb/openssl@1", "no namespace"},
		{"pkg:deb/debian/openssl@1?distro=sid", `unknown Debian release in distro qualifier "sid"`},
		{"pkg:deb/ubuntu/openssl@1?distro=warty", "unknown Ubuntu release"},
		{"pkg:apk/alpine/musl@1?distro=edge", "unknown Alpine release"},
		{"pkg:apk/wolfi/musl@1", `unsupported apk namespace "wolfi"`},
		{"pkg:rpm/fedora/bash@5", `unsupported rpm namespace "fedora"`},
		{"pkg:rpm/almalinux/bash@5?epoch=x", "epoch"},
		{"pkg:npm/a/b/c@1", "more than one segment"},
		{"pkg:npm/%ZZ@1", "invalid URL escape"},
		{"pkg:npm/a?x=1&x=2", "duplicate qualifier"},
		// Path traversal in names and namespaces.
		{"pkg:npm/..@1", `".." path segment`},
		{"pkg:npm/%2E%2E@1", `".." path segment`},
		{"pkg:npm/..%2F..%2Fetc%2Fpasswd@1", `".." path segment`},
		{"pkg:golang/example.com/../../x@v1", `".." path segment`},
		{"pkg:maven/../x@1", `".." path segment`},
		{"pkg:pypi/a%0Ab@1", "control"},
		{"pkg:composer/a%2F%2Fb/c@1", `namespace "a//b" has an empty segment`},
		{"pkg:pypi/ab@1%00", "control"},
	} {
		_, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error containing %q", tc.in, tc.wantErr)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "purl ") || !strings.Contains(msg, strings.TrimSpace(tc.in)) && tc.in != "" {
			t.Errorf("Parse(%q) error %q does not name the input", tc.in, msg)
		}
		if !strings.Contains(msg, tc.wantErr) {
			t.Errorf("Parse(%q) error %q does not contain %q", tc.in, msg, tc.wantErr)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	for _, tc := range []struct {
		eco, a, b string // a and b must give the same key
	}{
		{"PyPI", "Django_Rest.Framework", "django-rest-framework"},
		{"PyPI", "jw.util", "jw-util"},
		{"PyPI", "a--_.b", "A-B"},
		{"Go", "example.com/BurntSushi/toml", "example.com/burntsushi/toml"},
		{"Maven", "xerces:xercesImpl", "xerces:xercesimpl"},
		{"NuGet", "Newtonsoft.Json", "newtonsoft.json"},
		{"crates.io", "serde_json", "serde-json"},
		{"Packagist", "Laravel/Framework", "laravel/framework"},
		{"Packagist:https://packages.example.org/8", "Drupal/Core", "drupal/core"},
		{"SwiftURL", "https://example.com/Apple/swift-nio.git", "example.com/apple/swift-nio"},
		{"GitHub Actions", "Actions/Checkout", "actions/checkout"},
		{"Bitnami", "WordPress", "wordpress"},
		{"Debian:12", " openssl ", "openssl"},
	} {
		ka, kb := NormalizeName(tc.eco, tc.a), NormalizeName(tc.eco, tc.b)
		if ka != kb {
			t.Errorf("NormalizeName(%q, %q) = %q, NormalizeName(%q, %q) = %q; want equal", tc.eco, tc.a, ka, tc.eco, tc.b, kb)
		}
	}
	for _, tc := range []struct {
		eco, a, b string // a and b must give different keys
	}{
		{"npm", "JSONStream", "jsonstream"},
		{"RubyGems", "Rack", "rack"},
		{"CRAN", "R6", "r6"},
		{"Hackage", "HTTP", "http"},
		{"Julia", "HTTP", "http"},
		{"PyPI", "ab", "a-b"},
		{"crates.io", "serde", "serde-"},
	} {
		if ka, kb := NormalizeName(tc.eco, tc.a), NormalizeName(tc.eco, tc.b); ka == kb {
			t.Errorf("NormalizeName(%q, %q) = NormalizeName(%q, %q) = %q; want different", tc.eco, tc.a, tc.eco, tc.b, ka)
		}
	}
	if got := NormalizeName("PyPI", "Foo__Bar"); got != "foo-bar" {
		t.Errorf(`NormalizeName("PyPI", "Foo__Bar") = %q, want "foo-bar"`, got)
	}
	if got := NormalizeName("SomethingElse", " Foo "); got != "Foo" {
		t.Errorf(`NormalizeName("SomethingElse", " Foo ") = %q, want "Foo"`, got)
	}
}

func TestFromOSV(t *testing.T) {
	eco, name := FromOSV(osv.Package{Ecosystem: "PyPI", Name: "Jinja2"})
	if eco != "PyPI" || name != "jinja2" {
		t.Errorf("FromOSV(PyPI, Jinja2) = %q, %q; want PyPI, jinja2", eco, name)
	}
	p, err := Parse("pkg:pypi/jinja2@3.1.2")
	if err != nil {
		t.Fatal(err)
	}
	if got := NormalizeName(p.Ecosystem, p.Name); got != name {
		t.Errorf("PURL key %q != OSV key %q", got, name)
	}
}

func TestMatchVersion(t *testing.T) {
	for _, tc := range []struct{ eco, in, want string }{
		{"Go", "v1.2.3", "1.2.3"},
		{"Go", "v0.0.0-20230101000000-abcdef123456", "0.0.0-20230101000000-abcdef123456"},
		{"Go", "go1.21.3", "1.21.3"},
		{"Go", "1.21.3", "1.21.3"},
		{"Go", "v", "v"},
		{"Go", "vx", "vx"},
		{"npm", "v1.2.3", "v1.2.3"},
		{"Debian:12", "1:2.3-4", "1:2.3-4"},
	} {
		if got := MatchVersion(tc.eco, tc.in); got != tc.want {
			t.Errorf("MatchVersion(%q, %q) = %q, want %q", tc.eco, tc.in, got, tc.want)
		}
	}
}

func TestEcosystems(t *testing.T) {
	got := Ecosystems()
	if !slices.IsSorted(got) {
		t.Errorf("Ecosystems() not sorted: %v", got)
	}
	for _, want := range []string{"npm", "PyPI", "Go", "Maven", "NuGet", "RubyGems", "crates.io", "Packagist", "Hex", "Pub",
		"SwiftURL", "CRAN", "Hackage", "ConanCenter", "Bitnami", "Julia", "GitHub Actions", "Debian", "Ubuntu", "Alpine", "AlmaLinux"} {
		if !slices.Contains(got, want) {
			t.Errorf("Ecosystems() lacks %q", want)
		}
	}
	// Every ecosystem a converter can return has a normalizer, so that the
	// two sides of a lookup agree.
	for _, in := range []string{"pkg:npm/a", "pkg:pypi/a", "pkg:golang/a", "pkg:maven/g/a", "pkg:nuget/a", "pkg:gem/a",
		"pkg:cargo/a", "pkg:composer/v/a", "pkg:hex/a", "pkg:pub/a", "pkg:swift/h/a", "pkg:cran/a", "pkg:hackage/a",
		"pkg:conan/a", "pkg:bitnami/a", "pkg:julia/a?uuid=1", "pkg:github/o/a", "pkg:deb/debian/a", "pkg:deb/ubuntu/a",
		"pkg:apk/alpine/a", "pkg:rpm/almalinux/a"} {
		p, err := Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if !slices.Contains(got, osv.BaseEcosystem(p.Ecosystem)) {
			t.Errorf("Parse(%q).Ecosystem = %q, not in Ecosystems()", in, p.Ecosystem)
		}
	}
	if len(got) != len(converters)+1 { // deb serves two ecosystems
		t.Errorf("Ecosystems() has %d entries for %d PURL types; a type or normalizer is missing", len(got), len(converters))
	}
}
