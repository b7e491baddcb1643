package match_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/report"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// A report-only scan writes the same reports as a full one (JSON, SARIF,
// table), while its records have lost their affected entries and details.
// The components share records (several versions of one package) and
// include findings whose severity comes from their alias group.
func TestReportOnlyReportsTheSame(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	mirror(t, st, "Go", "npm", "PyPI", "Maven", "crates.io", "Bitnami")
	var comps []match.Component
	for _, p := range []string{
		"pkg:golang/golang.org/x/net@0.0.1", "pkg:golang/golang.org/x/net@0.7.0", "pkg:golang/golang.org/x/crypto@0.0.1",
		"pkg:cargo/smallvec@1.6.0", "pkg:npm/lodash@4.17.11", "pkg:npm/lodash@4.17.20", "pkg:npm/minimist@1.2.0",
		"pkg:pypi/django@3.2.0", "pkg:pypi/django@2.2.0", "pkg:pypi/jinja2@2.10", "pkg:pypi/pillow@8.0.0",
		"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.0",
	} {
		comps = append(comps, match.Component{Input: p})
	}
	full, err := match.NewScanner(st, nil).Scan(ctx, comps)
	if err != nil {
		t.Fatal(err)
	}
	slim, err := match.NewScanner(st, nil).ReportOnly().Scan(ctx, comps)
	if err != nil {
		t.Fatal(err)
	}
	findings, upgrades := 0, 0
	for i := range slim {
		findings += len(slim[i].Findings)
		if slim[i].Upgrade != nil {
			upgrades++
		}
		for _, f := range slim[i].Findings {
			for _, v := range f.Records {
				if v.Affected != nil || v.Details != "" || v.References != nil {
					t.Errorf("%s: record %s kept its affected entries, details or references", slim[i].Input, v.ID)
				}
			}
		}
	}
	if findings < 50 || upgrades < 5 {
		t.Fatalf("%d findings, %d upgrades: the components no longer exercise the scan", findings, upgrades)
	}
	meta := report.Meta{Tool: "vulngate", Version: "test", Inputs: []string{"test"}, Sources: []string{"OSV"}}
	for _, f := range []report.Format{report.JSON, report.SARIF, report.Table} {
		var a, b bytes.Buffer
		if err := report.Write(&a, f, full, meta); err != nil {
			t.Fatal(err)
		}
		if err := report.Write(&b, f, slim, meta); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s report differs:\nfull %s\nreport-only %s", f, a.String(), b.String())
		}
	}
}
