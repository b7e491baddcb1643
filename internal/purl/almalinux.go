package purl

import (
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"
)

// AlmaLinux: pkg:rpm/almalinux/openssl@3.0.7-24.el9?epoch=1&distro=almalinux-9
// -> AlmaLinux:9 "openssl", version "1:3.0.7-24.el9".
//
// Of the rpm type only the almalinux namespace is supported. The distro
// qualifier ("almalinux-9", "almalinux-9.3", "9.3", "el9") gives the major
// release. OSV AlmaLinux versions carry the epoch when it is not zero, so
// an epoch qualifier is folded into the version unless the version already
// has one. Names are compared exactly.

const ecoAlmaLinux = "AlmaLinux"

func fromRPM(u *packageurl.PackageURL) (Package, error) {
	if u.Namespace != "almalinux" {
		return Package{}, fmt.Errorf("unsupported rpm namespace %q (want almalinux)", u.Namespace)
	}
	eco := ecoAlmaLinux
	if d := qualifier(u, "distro"); d != "" {
		rel, err := almaRelease(d)
		if err != nil {
			return Package{}, err
		}
		eco += ":" + rel
	}
	v := u.Version
	if e := qualifier(u, "epoch"); e != "" && v != "" && !strings.Contains(v, ":") {
		if strings.Trim(e, "0123456789") != "" {
			return Package{}, fmt.Errorf("rpm epoch qualifier %q is not a number", e)
		}
		v = e + ":" + v
	}
	return Package{Ecosystem: eco, Name: u.Name, Version: v}, nil
}

// almaRelease maps a distro qualifier value to a major release.
func almaRelease(distro string) (string, error) {
	d := strings.TrimPrefix(strings.ToLower(distro), "almalinux-")
	d = strings.TrimPrefix(d, "el")
	n, ok := releaseNumber(d, 1)
	if !ok {
		return "", fmt.Errorf("unknown AlmaLinux release in distro qualifier %q (want e.g. almalinux-9)", distro)
	}
	return n, nil
}

func normalizeAlmaLinux(name string) string { return name }
