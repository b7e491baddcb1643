package purl

import (
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"
)

// GitHub Actions: pkg:github/owner/repo@v4 -> GitHub Actions "owner/repo".
//
// The namespace is the repository owner and is required. A subpath (an
// action in a subdirectory) is ignored, as OSV records name the
// repository. Owner and repository names are case-insensitive on the
// hosting service, so names are compared lowercased.

const ecoGitHubActions = "GitHub Actions"

func fromGitHubActions(u *packageurl.PackageURL) (Package, error) {
	if u.Namespace == "" {
		return Package{}, fmt.Errorf("github PURL has no namespace (repository owner)")
	}
	return Package{Ecosystem: ecoGitHubActions, Name: u.Namespace + "/" + u.Name, Version: u.Version}, nil
}

func normalizeGitHubActions(name string) string { return strings.ToLower(name) }
