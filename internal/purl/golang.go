package purl

import (
	"strings"

	"github.com/package-url/packageurl-go"
)

// Go: pkg:golang/golang.org/x/net@v0.1.0 -> Go "golang.org/x/net".
//
// The namespace and name joined with "/" are the module path; a subpath
// (a package inside the module) is ignored. pkg:golang/stdlib is the
// standard library, which OSV calls "stdlib". Parse keeps the module path's
// case from the input even though the PURL library lowercases it.
//
// Versions are kept as written ("v0.1.0"). OSV Go ranges are SEMVER
// without the leading "v"; MatchVersion strips it.
//
// Names are compared lowercased: PURL producers disagree on whether module
// paths keep their case, and module paths that differ only in case name
// the same repository in practice.

const ecoGo = "Go"

func fromGo(u *packageurl.PackageURL) (Package, error) {
	return Package{Ecosystem: ecoGo, Name: joinPath(u.Namespace, u.Name), Version: u.Version}, nil
}

func normalizeGo(name string) string { return strings.ToLower(name) }

// goMatchVersion drops the "v" of a module version or the "go" of a
// toolchain version.
func goMatchVersion(v string) string {
	if rest, ok := strings.CutPrefix(v, "go"); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		return rest
	}
	if rest, ok := strings.CutPrefix(v, "v"); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		return rest
	}
	return v
}
