// Package purl maps Package URLs (PURLs) to the ecosystem, name and version
// that OSV records use, and normalizes package names so that a name taken
// from an OSV record and a name taken from a PURL meet at the same index key.
//
// Parsing follows the PURL specification as implemented by
// github.com/package-url/packageurl-go. Each supported PURL type has its own
// file that says how the type's namespace, name and qualifiers become an OSV
// package, and how names in that ecosystem compare (case, separators).
// Operating-system types (deb, apk, rpm) read the distro qualifier to pick
// the OSV release ecosystem such as "Debian:12" or "Alpine:v3.18"; without
// it they map to the base ecosystem.
//
// The package leaves out: version comparison (see internal/match), PURL
// types that have no OSV ecosystem (generic, docker, oci, ...), source
// package lookup for binary distribution packages, and any network access.
package purl

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/package-url/packageurl-go"
	"github.com/vulngate/vulngate/internal/osv"
)

// Package is a component identified for matching.
//
// Version is the PURL version as written, except that an rpm epoch
// qualifier is folded in as "epoch:version". Versions are not otherwise
// rewritten; in particular a Go version keeps its leading "v" although OSV
// Go ranges are SEMVER without it. Use MatchVersion to get the form that
// OSV ranges compare against.
type Package struct {
	Ecosystem string // OSV ecosystem, including a release suffix where one applies, e.g. "Debian:12", "Alpine:v3.18", else "PyPI", "Go", ...
	Name      string // name as OSV spells it: Maven "group:artifact", npm "@scope/name", Go module path, Debian source/binary name...
	Version   string // may be "" when the PURL has none
	PURL      string // the input, canonicalised
}

// A converter turns a parsed PURL of one type into an OSV package.
// It fills Ecosystem, Name and Version.
type converter func(u *packageurl.PackageURL) (Package, error)

// converters maps PURL types to their converter. Each lives in the file
// named for its OSV ecosystem.
var converters = map[string]converter{
	packageurl.TypeNPM:      fromNPM,
	packageurl.TypePyPi:     fromPyPI,
	packageurl.TypeGolang:   fromGo,
	packageurl.TypeMaven:    fromMaven,
	packageurl.TypeNuget:    fromNuGet,
	packageurl.TypeGem:      fromRubyGems,
	packageurl.TypeCargo:    fromCrates,
	packageurl.TypeComposer: fromPackagist,
	packageurl.TypeHex:      fromHex,
	packageurl.TypePub:      fromPub,
	packageurl.TypeSwift:    fromSwiftURL,
	packageurl.TypeCran:     fromCRAN,
	packageurl.TypeHackage:  fromHackage,
	packageurl.TypeConan:    fromConanCenter,
	packageurl.TypeBitnami:  fromBitnami,
	packageurl.TypeJulia:    fromJulia,
	packageurl.TypeGithub:   fromGitHubActions,
	packageurl.TypeDebian:   fromDeb,
	packageurl.TypeApk:      fromAlpine,
	packageurl.TypeRPM:      fromRPM,
}

// normalizers maps OSV base ecosystems to their name normalization.
// Ecosystems not listed compare names exactly.
var normalizers = map[string]func(string) string{
	ecoNPM:           normalizeNPM,
	ecoPyPI:          normalizePyPI,
	ecoGo:            normalizeGo,
	ecoMaven:         normalizeMaven,
	ecoNuGet:         normalizeNuGet,
	ecoRubyGems:      normalizeRubyGems,
	ecoCrates:        normalizeCrates,
	ecoPackagist:     normalizePackagist,
	ecoHex:           normalizeHex,
	ecoPub:           normalizePub,
	ecoSwiftURL:      normalizeSwiftURL,
	ecoCRAN:          normalizeCRAN,
	ecoHackage:       normalizeHackage,
	ecoConanCenter:   normalizeConanCenter,
	ecoBitnami:       normalizeBitnami,
	ecoJulia:         normalizeJulia,
	ecoGitHubActions: normalizeGitHubActions,
	ecoDebian:        normalizeDebian,
	ecoUbuntu:        normalizeUbuntu,
	ecoAlpine:        normalizeAlpine,
	ecoAlmaLinux:     normalizeAlmaLinux,
}

// Ecosystems returns the OSV base ecosystems that Parse can produce, sorted.
func Ecosystems() []string {
	out := make([]string, 0, len(normalizers))
	for e := range normalizers {
		out = append(out, e)
	}
	slices.Sort(out)
	return out
}

// NormalizeName returns the key under which a package name is indexed and
// looked up. It is applied both to OSV affected[].package.name values and to
// names returned by Parse, so two spellings of one package give one key.
// The ecosystem may carry a release suffix ("Debian:12"); only its base is
// used. Names in ecosystems this package does not know are returned with
// surrounding space trimmed and otherwise unchanged.
func NormalizeName(ecosystem, name string) string {
	name = strings.TrimSpace(name)
	if f, ok := normalizers[osv.BaseEcosystem(strings.TrimSpace(ecosystem))]; ok {
		return f(name)
	}
	return name
}

// FromOSV returns the ecosystem (as written, space trimmed) and the
// normalized name of an OSV package, ready for indexing.
func FromOSV(pkg osv.Package) (ecosystem, normalizedName string) {
	eco := strings.TrimSpace(pkg.Ecosystem)
	return eco, NormalizeName(eco, pkg.Name)
}

// MatchVersion returns version in the form OSV ranges of the ecosystem use.
// For Go it drops a leading "v" (and the "go" of toolchain versions such as
// "go1.22.1"), since OSV Go ranges are SEMVER without the prefix. For
// RubyGems it drops a platform suffix ("3.21.7-x86_64-linux" -> "3.21.7").
// Other ecosystems' versions are returned unchanged.
func MatchVersion(ecosystem, version string) string {
	switch osv.BaseEcosystem(ecosystem) {
	case ecoGo:
		return goMatchVersion(version)
	case ecoRubyGems:
		return rubyGemsMatchVersion(version)
	}
	return version
}

// Parse parses a Package URL and maps it to an OSV package. Errors name
// the input and the problem; PURL types without an OSV ecosystem are
// reported as unsupported. Qualifiers and subpaths that do not affect the
// OSV identity (e.g. Maven classifier, npm subpath) are kept in the
// canonical PURL but otherwise ignored.
func Parse(s string) (Package, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return Package{}, fmt.Errorf("purl %q: empty", s)
	}
	u, err := packageurl.FromString(in)
	if err != nil {
		// The library's messages mostly start with "purl ", which would
		// read twice after our prefix.
		return Package{}, fmt.Errorf("purl %q: %s", s, strings.TrimPrefix(err.Error(), "purl "))
	}
	conv, ok := converters[u.Type]
	if !ok {
		return Package{}, fmt.Errorf("purl %q: unsupported type %q (supported: %s)", s, u.Type, strings.Join(supportedTypes(), ", "))
	}
	if u.Type == packageurl.TypeGolang {
		// The PURL library lowercases Go module paths, but OSV (and the Go
		// toolchain) spell them with case. Keep the case from the input.
		ns, name, err := rawNamespaceName(in)
		if err != nil {
			return Package{}, fmt.Errorf("purl %q: %v", s, err)
		}
		u.Namespace, u.Name = ns, name
	}
	if err := checkParts(&u); err != nil {
		return Package{}, fmt.Errorf("purl %q: %v", s, err)
	}
	p, err := conv(&u)
	if err != nil {
		return Package{}, fmt.Errorf("purl %q: %w", s, err)
	}
	p.PURL = u.ToString()
	return p, nil
}

func supportedTypes() []string {
	out := make([]string, 0, len(converters))
	for t := range converters {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// checkParts rejects namespaces, names and versions that no ecosystem
// allows and that could be misused further on: control characters, "." or
// ".." path segments, and empty namespace segments.
func checkParts(u *packageurl.PackageURL) error {
	for _, part := range []struct{ what, v string }{
		{"namespace", u.Namespace},
		{"name", u.Name},
		{"version", u.Version},
	} {
		for _, r := range part.v {
			if r < 0x20 || r == 0x7f || r == '\uFFFD' {
				return fmt.Errorf("%s %q contains a control or invalid character", part.what, part.v)
			}
		}
		if part.what == "version" {
			continue
		}
		for seg := range strings.SplitSeq(part.v, "/") {
			if seg == "." || seg == ".." {
				return fmt.Errorf("%s %q contains a %q path segment", part.what, part.v, seg)
			}
			// An empty namespace segment (from an encoded "/") would vanish
			// when the PURL is written out again.
			if seg == "" && part.what == "namespace" && part.v != "" {
				return fmt.Errorf("namespace %q has an empty segment", part.v)
			}
		}
	}
	return nil
}

// rawNamespaceName splits a PURL the way the specification says, without
// the type-specific lowercasing the PURL library applies. It is only called
// on strings that packageurl.FromString accepted.
func rawNamespaceName(s string) (ns, name string, err error) {
	rest := strings.TrimLeft(s[len("pkg:"):], "/")
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	_, rest, _ = strings.Cut(rest, "/")
	if i := strings.LastIndexByte(rest, '@'); i > 0 {
		rest = rest[:i]
	}
	var segs []string
	for seg := range strings.SplitSeq(rest, "/") {
		if seg == "" {
			continue
		}
		d, err := url.PathUnescape(seg)
		if err != nil {
			return "", "", err
		}
		segs = append(segs, d)
	}
	if len(segs) == 0 {
		return "", "", fmt.Errorf("missing name")
	}
	// Trim the namespace as packageurl.PackageURL.Normalize does.
	return strings.Trim(strings.Join(segs[:len(segs)-1], "/"), "/"), segs[len(segs)-1], nil
}

// joinPath joins a PURL namespace and name with "/", leaving out an empty
// namespace.
func joinPath(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// qualifier returns the value of the qualifier key, or "".
func qualifier(u *packageurl.PackageURL, key string) string {
	for _, q := range u.Qualifiers {
		if q.Key == key {
			return q.Value
		}
	}
	return ""
}

// ErrCannotMatch is wrapped by Parse's error for a valid PURL that names
// a package no OSV ecosystem covers (a private Hex organisation package, a
// Conan recipe outside ConanCenter).
var ErrCannotMatch = errors.New("cannot be matched")

// cannotMatch returns an error wrapping ErrCannotMatch.
func cannotMatch(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCannotMatch}, args...)...)
}

// noNamespace reports an error if the PURL has a namespace; for types whose
// names have no namespace in OSV, a namespace means the PURL is not what it
// claims to be.
func noNamespace(u *packageurl.PackageURL) error {
	if u.Namespace != "" {
		return fmt.Errorf("%s PURLs have no namespace, got %q", u.Type, u.Namespace)
	}
	return nil
}

// simple builds a converter for types whose OSV name is the PURL name and
// that have no namespace.
func simple(eco string) converter {
	return func(u *packageurl.PackageURL) (Package, error) {
		if err := noNamespace(u); err != nil {
			return Package{}, err
		}
		return Package{Ecosystem: eco, Name: u.Name, Version: u.Version}, nil
	}
}
