package feed

import (
	"slices"
	"strings"

	"github.com/google/osv-scalibr/semantic"
)

// CompareVersions orders two versions by the ecosystem's rules (Go
// versions may carry their "v"); versions that do not parse compare as
// strings, after the ones that do.
func CompareVersions(ecosystem, a, b string) int {
	if ecosystem == "Go" {
		a, b = strings.TrimPrefix(a, "v"), strings.TrimPrefix(b, "v")
	}
	va, errA := semantic.Parse(a, ecosystem)
	if errA == nil {
		c, err := va.CompareStr(b)
		if err == nil {
			return c
		}
	}
	return strings.Compare(a, b)
}

// HighestVersion returns the highest version accepted by keep, or "".
func HighestVersion(ecosystem string, versions []string, keep func(string) bool) string {
	best := ""
	for _, v := range versions {
		if !keep(v) {
			continue
		}
		if best == "" || CompareVersions(ecosystem, v, best) > 0 {
			best = v
		}
	}
	return best
}

// SortVersions sorts versions ascending by the ecosystem's rules.
func SortVersions(ecosystem string, versions []string) {
	slices.SortStableFunc(versions, func(a, b string) int { return CompareVersions(ecosystem, a, b) })
}
