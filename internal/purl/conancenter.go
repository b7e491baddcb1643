package purl

import "strings"

// ConanCenter: pkg:conan/openssl@3.0.0 -> ConanCenter "openssl".
//
// Qualifiers (user, channel, rrev, prev) are ignored. A PURL namespace (a
// Conan user) has no OSV counterpart and is rejected. Conan recipe names
// are lowercase; names are compared lowercased.

const ecoConanCenter = "ConanCenter"

var fromConanCenter = simple(ecoConanCenter)

func normalizeConanCenter(name string) string { return strings.ToLower(name) }
