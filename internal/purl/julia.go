package purl

// Julia: pkg:julia/HTTP@1.10.0?uuid=cd3eb016-... -> Julia "HTTP".
//
// The PURL specification requires the uuid qualifier, and Parse rejects a
// Julia PURL without it. OSV names Julia packages by name only, so the
// uuid is otherwise ignored. Names are case-sensitive and compared exactly.

const ecoJulia = "Julia"

var fromJulia = simple(ecoJulia)

func normalizeJulia(name string) string { return name }
