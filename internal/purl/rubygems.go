package purl

import "strings"

// RubyGems: pkg:gem/rails@7.0.0 -> RubyGems "rails".
//
// Qualifiers such as platform are ignored. Gem names are case-sensitive and
// are compared exactly.
//
// Platform gems are often written with their platform after the version,
// as Gemfile.lock and some SBOM tools do ("3.21.7-x86_64-linux",
// "1.13.10-java"). Bundler splits such a string at the first "-" into
// version and platform; MatchVersion does the same when the part after the
// "-" names a platform (so that a prerelease such as "1.0.0-rc1", which
// Gem::Version accepts, is kept).

const ecoRubyGems = "RubyGems"

var fromRubyGems = simple(ecoRubyGems)

func normalizeRubyGems(name string) string { return name }

// gemPlatformWords are the CPU and OS names Gem::Platform knows; a suffix
// containing one of them is a platform.
var gemPlatformWords = []string{
	"x86_64", "x86", "x64", "i386", "i486", "i586", "i686", "amd64", "arm64", "aarch64", "arm", "armv7", "armv8",
	"powerpc", "ppc64le", "ppc64", "ppc", "s390x", "sparc", "universal", "java", "jruby", "dalvik", "dotnet",
	"linux", "darwin", "mingw", "mingw32", "mswin", "mswin32", "mswin64", "freebsd", "openbsd", "netbsd",
	"solaris", "aix", "cygwin", "wasi", "ucrt", "musl", "gnu",
}

// rubyGemsMatchVersion drops a platform suffix from a gem version.
func rubyGemsMatchVersion(v string) string {
	base, plat, ok := strings.Cut(v, "-")
	if !ok {
		return v
	}
	for w := range strings.SplitSeq(strings.ToLower(plat), "-") {
		for _, p := range gemPlatformWords {
			if w == p || strings.HasPrefix(w, p) && isAllDigits(strings.TrimPrefix(w, p)) {
				return base
			}
		}
	}
	return v
}

func isAllDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
