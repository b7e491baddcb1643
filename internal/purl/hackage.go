package purl

// Hackage: pkg:hackage/aeson@2.1.0.0 -> Hackage "aeson".
//
// Hackage package names are case-sensitive and are compared exactly.
// Advisories OSV files under "GHC" (the compiler itself) have no PURL
// type and are not produced.

const ecoHackage = "Hackage"

var fromHackage = simple(ecoHackage)

func normalizeHackage(name string) string { return name }
