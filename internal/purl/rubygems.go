package purl

// RubyGems: pkg:gem/rails@7.0.0 -> RubyGems "rails".
//
// Qualifiers such as platform are ignored. Gem names are case-sensitive and
// are compared exactly.

const ecoRubyGems = "RubyGems"

var fromRubyGems = simple(ecoRubyGems)

func normalizeRubyGems(name string) string { return name }
