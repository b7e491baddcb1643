package server

import (
	"slices"
	"testing"

	"github.com/vulngate/vulngate/internal/auth"
)

// TestPackageVersionListedVerbatim: the package API matches a version that
// is not valid in its ecosystem's ordering against the records' versions
// lists (PYSEC-2018-100 lists rope's 0.6m2, not a PEP 440 version): a
// finding, and no error when no advisory of the package needed its ranges.
func TestPackageVersionListedVerbatim(t *testing.T) {
	e := newEnv(t)
	e.mirror("PyPI")
	var pkg packageOut
	res := e.do(auth.Viewer, "GET", "/api/v1/packages?purl=pkg:pypi/rope@0.6m2", nil)
	wantStatus(t, res, 200)
	res.json(t, &pkg)
	if len(pkg.Findings) != 1 || len(pkg.Errors) != 0 || pkg.Upgrade != nil {
		t.Fatalf("rope 0.6m2: %+v", pkg)
	}
	if f := pkg.Findings[0]; f.ID != "PYSEC-2018-100" && !slices.Contains(f.Aliases, "PYSEC-2018-100") {
		t.Fatalf("finding %+v, want PYSEC-2018-100", f)
	}
}
