package purl

import "strings"

// Hex: pkg:hex/phoenix@1.7.0 -> Hex "phoenix".
//
// Hex package names are lowercase; names are compared lowercased. An
// organisation namespace (private packages) has no OSV counterpart and is
// rejected.

const ecoHex = "Hex"

var fromHex = simple(ecoHex)

func normalizeHex(name string) string { return strings.ToLower(name) }
