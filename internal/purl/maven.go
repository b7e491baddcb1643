package purl

import (
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"
)

// Maven: pkg:maven/org.example/lib@1.0?type=jar -> Maven "org.example:lib".
//
// The namespace is the group ID and is required. Qualifiers such as
// classifier and type are ignored: OSV records name the group and artifact
// only. Names are compared lowercased, since SBOM producers and advisories
// sometimes disagree on the case of a coordinate.

const ecoMaven = "Maven"

func fromMaven(u *packageurl.PackageURL) (Package, error) {
	if u.Namespace == "" {
		return Package{}, fmt.Errorf("maven PURL has no namespace (group ID)")
	}
	if strings.Contains(u.Namespace, "/") {
		return Package{}, fmt.Errorf("maven group ID %q contains %q", u.Namespace, "/")
	}
	return Package{Ecosystem: ecoMaven, Name: u.Namespace + ":" + u.Name, Version: u.Version}, nil
}

func normalizeMaven(name string) string { return strings.ToLower(name) }
