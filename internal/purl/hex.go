package purl

import (
	"strings"

	"github.com/package-url/packageurl-go"
)

// Hex: pkg:hex/phoenix@1.7.0 -> Hex "phoenix".
//
// Hex package names are lowercase; names are compared lowercased. A
// namespace is a Hex organisation (pkg:hex/acme/foo@1.0.0): a valid PURL of
// a private package, which OSV has no advisories for, so Parse reports it
// as one that cannot be matched (ErrCannotMatch).

const ecoHex = "Hex"

func fromHex(u *packageurl.PackageURL) (Package, error) {
	if u.Namespace != "" {
		return Package{}, cannotMatch("Hex organisation %q: private packages have no public advisories", u.Namespace)
	}
	return Package{Ecosystem: ecoHex, Name: u.Name, Version: u.Version}, nil
}

func normalizeHex(name string) string { return strings.ToLower(name) }
