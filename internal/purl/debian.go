package purl

import (
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"
)

// Debian: pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12 ->
// Debian:12 "openssl".
//
// The deb type serves Debian and Ubuntu; the namespace picks one (Ubuntu is
// in ubuntu.go). The distro qualifier names the release as "debian-12",
// "debian-12.5", "12" or a code name ("bookworm"), and becomes the
// ecosystem suffix. Without it the ecosystem is the base "Debian". The name
// is used as given: OSV Debian records name source packages, and a PURL
// for a binary package whose source is named differently will not match.
// Names are compared exactly (they are lowercase by policy).

const ecoDebian = "Debian"

// debianReleases maps Debian code names to release numbers.
var debianReleases = map[string]string{
	"jessie":   "8",
	"stretch":  "9",
	"buster":   "10",
	"bullseye": "11",
	"bookworm": "12",
	"trixie":   "13",
	"forky":    "14",
}

func fromDeb(u *packageurl.PackageURL) (Package, error) {
	switch u.Namespace {
	case "debian":
		return fromDebian(u)
	case "ubuntu":
		return fromUbuntu(u)
	case "":
		return Package{}, fmt.Errorf("deb PURL has no namespace (want debian or ubuntu)")
	default:
		return Package{}, fmt.Errorf("unsupported deb namespace %q (want debian or ubuntu)", u.Namespace)
	}
}

func fromDebian(u *packageurl.PackageURL) (Package, error) {
	eco := ecoDebian
	if d := qualifier(u, "distro"); d != "" {
		rel, err := debianRelease(d)
		if err != nil {
			return Package{}, err
		}
		eco += ":" + rel
	}
	return Package{Ecosystem: eco, Name: u.Name, Version: u.Version}, nil
}

// debianRelease maps a distro qualifier value to a Debian major release.
func debianRelease(distro string) (string, error) {
	d := strings.TrimPrefix(strings.ToLower(distro), "debian-")
	if rel, ok := debianReleases[d]; ok {
		return rel, nil
	}
	if rel, ok := releaseNumber(d, 1); ok {
		return rel, nil
	}
	return "", fmt.Errorf("unknown Debian release in distro qualifier %q (want e.g. debian-12 or bookworm)", distro)
}

func normalizeDebian(name string) string { return name }
