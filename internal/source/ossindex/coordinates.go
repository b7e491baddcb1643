package ossindex

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
)

// OSS Index identifies components by PURL ("coordinates"). It mis-answers
// decorated PURLs, so what is sent is minimal: pkg:type/namespace/name@version
// with no qualifiers and no subpath, built from the OSV identity purl.Parse
// produced (the ecosystem, name and version), not from the input string.
//
// Versions: a leading "v" before a digit is dropped ("v1.2.3" -> "1.2.3")
// for every type except golang, whose module versions are "v"-prefixed by
// definition and which Sonatype's own Go client (nancy) sends with the "v";
// for golang only a "+incompatible" suffix is dropped, as nancy does.

// errUnsupported is the per-package error for ecosystems OSS Index is not
// asked about.
var errUnsupported = errors.New("unsupported type")

// coordinateTypes maps the OSV ecosystems vulngate sends to OSS Index to
// their PURL type.
var coordinateTypes = map[string]string{
	"npm":         packageurl.TypeNPM,
	"PyPI":        packageurl.TypePyPi,
	"Maven":       packageurl.TypeMaven,
	"NuGet":       packageurl.TypeNuget,
	"Go":          packageurl.TypeGolang,
	"RubyGems":    packageurl.TypeGem,
	"crates.io":   packageurl.TypeCargo,
	"Packagist":   packageurl.TypeComposer,
	"ConanCenter": packageurl.TypeConan,
}

// Coordinate returns the minimal OSS Index coordinate for a package.
// Packages of other ecosystems give an error wrapping errUnsupported;
// packages without a version cannot be asked about.
func Coordinate(p purl.Package) (string, error) {
	eco := osv.BaseEcosystem(p.Ecosystem)
	typ, ok := coordinateTypes[eco]
	if !ok {
		return "", fmt.Errorf("%w (%s)", errUnsupported, purlType(p))
	}
	if strings.TrimSpace(p.Version) == "" {
		return "", errors.New("no version")
	}
	ns, name := "", p.Name
	switch eco {
	case "npm":
		if scope, n, ok := strings.Cut(p.Name, "/"); ok && strings.HasPrefix(scope, "@") {
			ns, name = scope, n
		}
	case "Maven":
		g, a, ok := strings.Cut(p.Name, ":")
		if !ok {
			return "", fmt.Errorf("maven name %q is not group:artifact", p.Name)
		}
		ns, name = g, a
	case "Go", "Packagist":
		if i := strings.LastIndexByte(p.Name, '/'); i > 0 {
			ns, name = p.Name[:i], p.Name[i+1:]
		}
	}
	version := p.Version
	if eco == "Go" {
		version = strings.TrimSuffix(version, "+incompatible")
	} else if len(version) > 1 && (version[0] == 'v' || version[0] == 'V') && version[1] >= '0' && version[1] <= '9' {
		version = version[1:]
	}
	return packageurl.NewPackageURL(typ, ns, name, version, nil, "").ToString(), nil
}

// purlType names a package's PURL type for messages, from its PURL when
// it has one.
func purlType(p purl.Package) string {
	if rest, ok := strings.CutPrefix(p.PURL, "pkg:"); ok {
		if i := strings.IndexAny(rest, "/@?#"); i > 0 {
			return rest[:i]
		}
	}
	return p.Ecosystem
}

// matchKey is how coordinates sent and coordinates answered are compared:
// OSS Index may answer with another letter case or escaping (e.g. "%40"
// for the "@" of an npm scope), so both sides are unescaped and lowercased.
func matchKey(coord string) string {
	if u, err := url.PathUnescape(coord); err == nil {
		coord = u
	}
	return strings.ToLower(strings.TrimSpace(coord))
}
