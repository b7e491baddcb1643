package purl

import (
	"strconv"
	"strings"
)

// releaseNumber returns the first parts components of the dotted decimal
// release number that s starts with: releaseNumber("3.18.4", 2) is "3.18",
// releaseNumber("9_3", 1) is "9". Leading zeros are dropped from each
// component. The number may be followed only by a separator ("-", "_",
// "+", "~"). ok is false if s does not start that way or has fewer than
// parts components.
func releaseNumber(s string, parts int) (string, bool) {
	end := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end >= 0 {
		if !strings.ContainsRune("-_+~", rune(s[end])) {
			return "", false
		}
		s = s[:end]
	}
	fields := strings.Split(s, ".")
	if len(fields) < parts {
		return "", false
	}
	out := make([]string, parts)
	for i := range parts {
		n, err := strconv.ParseUint(fields[i], 10, 16)
		if err != nil {
			return "", false
		}
		out[i] = strconv.FormatUint(n, 10)
	}
	return strings.Join(out, "."), true
}
