package purl

// CRAN: pkg:cran/ggplot2@3.4.0 -> CRAN "ggplot2".
//
// R package names are case-sensitive and are compared exactly.

const ecoCRAN = "CRAN"

var fromCRAN = simple(ecoCRAN)

func normalizeCRAN(name string) string { return name }
