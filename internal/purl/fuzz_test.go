package purl

import (
	"testing"
)

// FuzzParse checks that Parse does not panic, that a successful parse
// round-trips through its canonical PURL, and that name normalization is
// idempotent on what Parse returns.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"pkg:npm/%40babel/core@7.22.0",
		"pkg:golang/example.com/Mixed/Case@v1.0.0#sub",
		"pkg:deb/ubuntu/linux@3.13?distro=esm-infra-legacy/trusty",
		"pkg:rpm/almalinux/openssl@3.0.7?epoch=1&distro=el9",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		q, err := Parse(p.PURL)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, but Parse of its PURL fails: %v", s, p, err)
		}
		if q != p {
			t.Fatalf("round trip of %q:\n first  %+v\n second %+v", s, p, q)
		}
		key := NormalizeName(p.Ecosystem, p.Name)
		if again := NormalizeName(p.Ecosystem, key); again != key {
			t.Fatalf("NormalizeName(%q, %q) = %q, but normalizing that gives %q", p.Ecosystem, p.Name, key, again)
		}
	})
}
