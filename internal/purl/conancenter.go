package purl

import (
	"strings"

	"github.com/package-url/packageurl-go"
)

// ConanCenter: pkg:conan/openssl@3.0.0 -> ConanCenter "openssl".
//
// Qualifiers (user, channel, rrev, prev) are ignored. A PURL namespace (the
// vendor of a recipe outside ConanCenter) makes a valid PURL that OSV's
// ConanCenter ecosystem does not cover, so Parse reports it as one that
// cannot be matched (ErrCannotMatch). Conan recipe names
// are lowercase; names are compared lowercased.

const ecoConanCenter = "ConanCenter"

func fromConanCenter(u *packageurl.PackageURL) (Package, error) {
	if u.Namespace != "" {
		return Package{}, cannotMatch("Conan namespace %q: only ConanCenter recipes (no namespace) have advisories", u.Namespace)
	}
	return Package{Ecosystem: ecoConanCenter, Name: u.Name, Version: u.Version}, nil
}

func normalizeConanCenter(name string) string { return strings.ToLower(name) }
