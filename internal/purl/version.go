package purl

import (
	"errors"
	"fmt"

	"golang.org/x/mod/semver"

	"github.com/vulngate/vulngate/internal/lazyre"
	"github.com/vulngate/vulngate/internal/osv"
)

// ErrInvalidVersion is wrapped by CheckVersion's errors.
var ErrInvalidVersion = errors.New("not a valid version")

type invalidVersionError string

func (e invalidVersionError) Error() string        { return string(e) }
func (e invalidVersionError) Is(target error) bool { return target == ErrInvalidVersion }

// CheckVersion reports whether version is a valid version in the OSV
// ecosystem (a release suffix such as "Debian:12" is ignored). It checks
// the ecosystems whose version orderings accept any string and would
// otherwise order garbage somewhere (SemVer ecosystems, PyPI): a version
// that fails here is never compared against ranges (match still finds it
// in a record's versions list, which holds strings), and is reported on
// its component when a range would have had to decide. Other ecosystems
// are left to their version ordering.
// An empty version is valid here (callers report it separately).
func CheckVersion(ecosystem, version string) error {
	if version == "" {
		return nil
	}
	var ok bool
	var want string
	switch osv.BaseEcosystem(ecosystem) {
	case ecoGo:
		ok, want = validGo(version), "Go module version"
	case ecoNPM, ecoCrates, ecoHex, ecoPub:
		ok, want = strictSemver.MatchString(version), "SemVer 2.0 version"
	case ecoPyPI:
		ok, want = pep440.MatchString(version), "PEP 440 version"
	case ecoRubyGems:
		ok, want = rubyGemsVersion.MatchString(rubyGemsMatchVersion(version)), "RubyGems version"
	default:
		return nil
	}
	if !ok {
		return invalidVersionError(fmt.Sprintf("version %q is not a valid %s (%s)", version, want, osv.BaseEcosystem(ecosystem)))
	}
	return nil
}

// strictSemver is SemVer 2.0.0 (semver.org section 2, 9, 10), allowing a
// leading "v" as npm and Cargo tooling do. It rejects ranges ("1.5.x",
// "^1.0.0", "1.5.0 || 2.0"), partial versions ("1.5") and trailing
// garbage ("3abc").
var strictSemver = lazyre.New(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)` +
	`(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// pep440 matches the public version scheme of PEP 440 (epoch, release,
// pre-, post- and dev-release segments, local label), case-insensitively
// and with the separators the specification's normalization accepts. The
// version library orders non-conforming strings as "legacy" versions that
// sort before everything, which would make any garbage look affected by
// ranges starting at 0.
var pep440 = lazyre.New(`(?i)^\s*v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*` +
	`(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*)?` +
	`(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?` +
	`(?:[-_.]?dev[-_.]?[0-9]*)?` +
	`(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?\s*$`)

// goToolchain is a Go release as the toolchain names it ("1.22", "1.22.1",
// "1.22rc1"), after goMatchVersion dropped its "go".
var goToolchain = lazyre.New(`^[1-9][0-9]*\.[0-9]+(?:\.[0-9]+)?(?:(?:rc|beta)[0-9]+)?$`)

// validGo accepts module versions as the go command does (golang.org/x/mod
// semver: "v1.2.3", "v0.0.0-20190101000000-abcdef123456", "v2.0.0+incompatible",
// with or without the leading "v") and toolchain versions ("go1.22.1").
func validGo(v string) bool {
	m := goMatchVersion(v)
	return semver.IsValid("v"+m) || goToolchain.MatchString(m)
}

// rubyGemsVersion is Gem::Version's pattern: numeric or alphanumeric
// segments separated by dots, with "-" allowed after the first segment
// (read as a prerelease).
var rubyGemsVersion = lazyre.New(`^[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$`)
