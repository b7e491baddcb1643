package purl

import (
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"
)

// npm: pkg:npm/%40scope/name@1.0.0 -> npm "@scope/name".
//
// The PURL namespace is the scope. It should carry its "@"; a scope
// written without one is given one, since OSV always spells scoped names
// "@scope/name". Names are compared exactly: the registry has legacy
// packages whose names differ from newer ones only in case.

const ecoNPM = "npm"

func fromNPM(u *packageurl.PackageURL) (Package, error) {
	name := u.Name
	if u.Namespace != "" {
		scope := u.Namespace
		if strings.Contains(scope, "/") {
			return Package{}, fmt.Errorf("npm scope %q has more than one segment", scope)
		}
		if !strings.HasPrefix(scope, "@") {
			scope = "@" + scope
		}
		if scope == "@" {
			return Package{}, fmt.Errorf("npm scope is empty")
		}
		name = scope + "/" + name
	}
	return Package{Ecosystem: ecoNPM, Name: name, Version: u.Version}, nil
}

func normalizeNPM(name string) string { return name }
