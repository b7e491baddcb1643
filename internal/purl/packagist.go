package purl

import (
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"
)

// Packagist: pkg:composer/vendor/name@1.0 -> Packagist "vendor/name".
//
// The namespace is the vendor and is required. Composer names are
// lowercase, so names are compared lowercased. OSV also files some
// advisories under "Packagist:<repository URL>"; Parse always returns the
// base ecosystem, and NormalizeName treats the suffixed ecosystems like the
// base one.

const ecoPackagist = "Packagist"

func fromPackagist(u *packageurl.PackageURL) (Package, error) {
	if u.Namespace == "" {
		return Package{}, fmt.Errorf("composer PURL has no namespace (vendor)")
	}
	return Package{Ecosystem: ecoPackagist, Name: u.Namespace + "/" + u.Name, Version: u.Version}, nil
}

func normalizePackagist(name string) string { return strings.ToLower(name) }
