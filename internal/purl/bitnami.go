package purl

import "strings"

// Bitnami: pkg:bitnami/wordpress@6.2.0 -> Bitnami "wordpress".
//
// Qualifiers (arch, distro) are ignored. Names are lowercase in both PURLs
// and OSV records; they are compared lowercased.

const ecoBitnami = "Bitnami"

var fromBitnami = simple(ecoBitnami)

func normalizeBitnami(name string) string { return strings.ToLower(name) }
