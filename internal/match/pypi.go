package match

import (
	"fmt"

	"github.com/vulngate/vulngate/internal/purl"
)

// checkPyPIVersion rejects versions that do not follow PEP 440: the
// version library orders non-conforming strings as "legacy" versions that
// sort before everything, which would make any garbage look affected by
// ranges starting at 0.
func checkPyPIVersion(v string) error {
	if err := purl.CheckVersion("PyPI", v); err != nil {
		return fmt.Errorf("ECOSYSTEM range: %q is not a valid PEP 440 version", v)
	}
	return nil
}
