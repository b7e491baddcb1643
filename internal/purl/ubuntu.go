package purl

import (
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"
)

// Ubuntu: pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.10?distro=ubuntu-22.04 ->
// Ubuntu:22.04:LTS "openssl".
//
// The distro qualifier names the release by number ("ubuntu-22.04",
// "22.04") or code name ("jammy"). OSV writes long-term-support releases
// as "Ubuntu:22.04:LTS" and releases under Ubuntu Pro (ESM) as
// "Ubuntu:Pro:14.04:LTS"; a distro value mentioning "esm" or "pro" (as in
// "esm-infra-legacy/trusty") selects the Pro ecosystem. Without a distro
// qualifier the ecosystem is the base "Ubuntu". FIPS and other variant
// ecosystems are not produced. Names are compared exactly.

const ecoUbuntu = "Ubuntu"

// ubuntuReleases maps Ubuntu code names to release numbers.
var ubuntuReleases = map[string]string{
	"precise":  "12.04",
	"trusty":   "14.04",
	"xenial":   "16.04",
	"bionic":   "18.04",
	"focal":    "20.04",
	"jammy":    "22.04",
	"kinetic":  "22.10",
	"lunar":    "23.04",
	"mantic":   "23.10",
	"noble":    "24.04",
	"oracular": "24.10",
	"plucky":   "25.04",
	"questing": "25.10",
}

func fromUbuntu(u *packageurl.PackageURL) (Package, error) {
	eco := ecoUbuntu
	if d := qualifier(u, "distro"); d != "" {
		rel, err := ubuntuRelease(d)
		if err != nil {
			return Package{}, err
		}
		eco += ":" + rel
	}
	return Package{Ecosystem: eco, Name: u.Name, Version: u.Version}, nil
}

// ubuntuRelease maps a distro qualifier value to the part of an OSV Ubuntu
// ecosystem after "Ubuntu:".
func ubuntuRelease(distro string) (string, error) {
	var num string
	pro := false
	for _, tok := range strings.FieldsFunc(strings.ToLower(distro), func(r rune) bool {
		return r == '-' || r == '/' || r == ':' || r == '_' || r == ' '
	}) {
		switch {
		case tok == "esm" || tok == "pro":
			pro = true
		case ubuntuReleases[tok] != "":
			num = ubuntuReleases[tok]
		default:
			if n, ok := ubuntuNumber(tok); ok {
				num = n
			}
		}
	}
	if num == "" {
		return "", fmt.Errorf("unknown Ubuntu release in distro qualifier %q (want e.g. ubuntu-22.04 or jammy)", distro)
	}
	// Long-term-support releases are the April releases of even years.
	lts := strings.HasSuffix(num, ".04") && (num[1]-'0')%2 == 0
	switch {
	case pro && lts:
		return "Pro:" + num + ":LTS", nil
	case lts:
		return num + ":LTS", nil
	default:
		return num, nil
	}
}

// ubuntuNumber reports whether tok is an Ubuntu release number, "YY.MM"
// optionally followed by a point release ("22.04.3"), and returns "YY.MM".
func ubuntuNumber(tok string) (string, bool) {
	if len(tok) < 5 || (len(tok) > 5 && tok[5] != '.') || tok[2] != '.' {
		return "", false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if tok[i] < '0' || tok[i] > '9' {
			return "", false
		}
	}
	return tok[:5], true
}

func normalizeUbuntu(name string) string { return name }
