package purl

import (
	"errors"
	"testing"
)

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		eco, version string
		ok           bool
	}{
		{"Go", "v1.9.1", true},
		{"Go", "1.9.1", true},
		{"Go", "v0.0.0-20190308221718-c2843e01d9a2", true}, // pseudo-version
		{"Go", "v2.0.0+incompatible", true},
		{"Go", "go1.22.1", true}, // toolchain
		{"Go", "1.22", true},
		{"Go", "1.22rc1", true},
		{"Go", "234fd47e07d1004f0aed9c", false}, // a commit hash, not a version
		{"Go", "0fd47e07d1004f0aed9c", false},
		{"Go", "latest", false},
		{"npm", "4.17.20", true},
		{"npm", "1.0.0-beta.1+build.5", true},
		{"npm", "v1.2.3", true},
		{"npm", "1.5.x", false},
		{"npm", "1.5.0 || 2.0", false},
		{"npm", "3abc", false},
		{"npm", "1.5", false},
		{"npm", "01.2.3", false},
		{"crates.io", "1.0.130", true},
		{"crates.io", "^1.0", false},
		{"PyPI", "3.2.0", true},
		{"PyPI", "2.0.0rc1.post1.dev2", true},
		{"PyPI", "not-a-version!", false},
		{"RubyGems", "3.21.7-x86_64-linux", true},
		{"RubyGems", "1.0.0.pre", true},
		{"RubyGems", "1.0 beta", false},
		{"Maven", "anything goes", true}, // left to the ordering
		{"Debian:12", "1:2.3-4", true},
		{"npm", "", true},
	} {
		err := CheckVersion(tc.eco, tc.version)
		if (err == nil) != tc.ok {
			t.Errorf("CheckVersion(%q, %q) = %v, want ok %v", tc.eco, tc.version, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidVersion) {
			t.Errorf("CheckVersion(%q, %q) = %v, does not wrap ErrInvalidVersion", tc.eco, tc.version, err)
		}
	}
}

func TestRubyGemsPlatform(t *testing.T) {
	for in, want := range map[string]string{
		"3.21.7-x86_64-linux":       "3.21.7",
		"1.13.10-x86_64-linux-gnu":  "1.13.10",
		"1.13.10-arm64-darwin":      "1.13.10",
		"9.4.2.0-java":              "9.4.2.0",
		"1.15.5-x64-mingw-ucrt":     "1.15.5",
		"2.0.0-universal-darwin-21": "2.0.0",
		"1.0.0-rc1":                 "1.0.0-rc1", // a prerelease, not a platform
		"7.0.0":                     "7.0.0",
	} {
		if got := MatchVersion("RubyGems", in); got != want {
			t.Errorf("MatchVersion(RubyGems, %q) = %q, want %q", in, got, want)
		}
	}
}

func TestCannotMatch(t *testing.T) {
	for _, p := range []string{"pkg:hex/acme/foo@2.3.0", "pkg:conan/bincrafters/openssl@3.0.0"} {
		_, err := Parse(p)
		if !errors.Is(err, ErrCannotMatch) {
			t.Errorf("Parse(%q) = %v, want ErrCannotMatch", p, err)
		}
	}
	for _, p := range []string{"pkg:hex/phoenix@1.7.0", "pkg:conan/openssl@3.0.0"} {
		if _, err := Parse(p); err != nil {
			t.Errorf("Parse(%q): %v", p, err)
		}
	}
}
