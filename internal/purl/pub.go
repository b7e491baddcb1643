package purl

import "strings"

// Pub: pkg:pub/http@1.0.0 -> Pub "http".
//
// Dart package names are lowercase; names are compared lowercased.

const ecoPub = "Pub"

var fromPub = simple(ecoPub)

func normalizePub(name string) string { return strings.ToLower(name) }
