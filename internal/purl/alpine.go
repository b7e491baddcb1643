package purl

import (
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"
)

// Alpine: pkg:apk/alpine/musl@1.2.4-r2?distro=3.18.4 -> Alpine:v3.18 "musl".
//
// Only the alpine namespace is supported. OSV names Alpine releases
// "Alpine:vMAJOR.MINOR"; the distro qualifier may be written "3.18.4",
// "3.18", "v3.18" or "alpine-3.18.4". Without it the ecosystem is the base
// "Alpine". The edge branch has no OSV ecosystem and is rejected. Names are
// compared exactly.

const ecoAlpine = "Alpine"

func fromAlpine(u *packageurl.PackageURL) (Package, error) {
	if u.Namespace != "alpine" {
		return Package{}, fmt.Errorf("unsupported apk namespace %q (want alpine)", u.Namespace)
	}
	eco := ecoAlpine
	if d := qualifier(u, "distro"); d != "" {
		rel, err := alpineRelease(d)
		if err != nil {
			return Package{}, err
		}
		eco += ":" + rel
	}
	return Package{Ecosystem: eco, Name: u.Name, Version: u.Version}, nil
}

// alpineRelease maps a distro qualifier value to "vMAJOR.MINOR".
func alpineRelease(distro string) (string, error) {
	d := strings.TrimPrefix(strings.ToLower(distro), "alpine-")
	d = strings.TrimPrefix(d, "v")
	n, ok := releaseNumber(d, 2)
	if !ok {
		return "", fmt.Errorf("unknown Alpine release in distro qualifier %q (want e.g. 3.18.4 or alpine-3.18)", distro)
	}
	return "v" + n, nil
}

func normalizeAlpine(name string) string { return name }
