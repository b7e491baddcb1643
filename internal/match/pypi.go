package match

import (
	"fmt"
	"regexp"
)

// pep440 matches the public version scheme of PEP 440 (epoch, release,
// pre-, post- and dev-release segments, local label), case-insensitively
// and with the separators the specification's normalization accepts. The
// version library orders non-conforming strings as "legacy" versions that
// sort before everything, which would make any garbage look affected by
// ranges starting at 0; a component version that does not conform is
// therefore reported instead of evaluated.
var pep440 = regexp.MustCompile(`(?i)^\s*v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*` +
	`(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*)?` +
	`(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?` +
	`(?:[-_.]?dev[-_.]?[0-9]*)?` +
	`(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?\s*$`)

func checkPyPIVersion(v string) error {
	if !pep440.MatchString(v) {
		return fmt.Errorf("ECOSYSTEM range: %q is not a valid PEP 440 version", v)
	}
	return nil
}
