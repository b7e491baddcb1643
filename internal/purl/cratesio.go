package purl

import "strings"

// crates.io: pkg:cargo/serde@1.0.0 -> crates.io "serde".
//
// The registry treats names that differ only in case or in "-" versus "_"
// as the same crate, so names are compared lowercased with "_" turned
// into "-".

const ecoCrates = "crates.io"

var fromCrates = simple(ecoCrates)

func normalizeCrates(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}
