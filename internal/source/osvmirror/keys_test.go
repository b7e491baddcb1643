package osvmirror

import (
	"slices"
	"testing"

	"github.com/vulngate/vulngate/internal/osv"
)

// TestKeysFor: a record's package keys for the partition are its affected
// packages of the partition's ecosystem (and release, when one is
// selected), normalized, sorted by name and each listed once; a record
// whose affected package of that ecosystem has no name is kept without a
// key.
func TestKeysFor(t *testing.T) {
	header := func(pkgs ...[2]string) *osv.Header {
		h := &osv.Header{ID: "X-1"}
		for _, p := range pkgs {
			h.Affected = append(h.Affected, osv.HeaderAffected{Package: osv.Package{Ecosystem: p[0], Name: p[1]}})
		}
		return h
	}
	for _, c := range []struct {
		eco  string
		h    *osv.Header
		want []string
		keep bool
	}{
		{"PyPI", header([2]string{"PyPI", "Zope_Interface"}, [2]string{"PyPI", "django"}, [2]string{"npm", "left-pad"}, [2]string{"PyPI", "zope-interface"}, [2]string{"PyPI", "Django"}), []string{"django", "zope-interface"}, true},
		{"PyPI", header([2]string{"npm", "left-pad"}), nil, false},
		{"PyPI", header([2]string{"PyPI", ""}), nil, true},
		{"Debian:12", header([2]string{"Debian:11", "openssl"}, [2]string{"Debian:12", "curl"}, [2]string{"Debian", "zlib"}), []string{"curl", "zlib"}, true},
	} {
		keys, keep := keysFor(c.h, c.eco)
		var names []string
		for _, k := range keys {
			if want := osv.BaseEcosystem(c.eco); k.Ecosystem != want {
				t.Errorf("%s: key %+v, want ecosystem %s", c.eco, k, want)
			}
			names = append(names, k.Name)
		}
		if !slices.Equal(names, c.want) || keep != c.keep {
			t.Errorf("%s %+v: %v %v, want %v %v", c.eco, c.h.Affected, names, keep, c.want, c.keep)
		}
	}
}
