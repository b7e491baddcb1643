package purl

import (
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"
)

// SwiftURL: pkg:swift/example.com/org/swift-lib@1.0.0 -> SwiftURL
// "example.com/org/swift-lib".
//
// The namespace (source host and path) and the name together are the
// package's repository URL without its scheme, which is how OSV names Swift
// packages. Names are compared lowercased, without a scheme, a trailing
// "/" or a ".git" suffix, so that URL spellings of one repository agree.

const ecoSwiftURL = "SwiftURL"

func fromSwiftURL(u *packageurl.PackageURL) (Package, error) {
	if u.Namespace == "" {
		return Package{}, fmt.Errorf("swift PURL has no namespace (source host and path)")
	}
	return Package{Ecosystem: ecoSwiftURL, Name: joinPath(u.Namespace, u.Name), Version: u.Version}, nil
}

func normalizeSwiftURL(name string) string {
	n := strings.ToLower(name)
	for _, scheme := range []string{"https://", "http://", "ssh://", "git://"} {
		n = strings.TrimPrefix(n, scheme)
	}
	n = strings.TrimSuffix(n, "/")
	n = strings.TrimSuffix(n, ".git")
	return n
}
