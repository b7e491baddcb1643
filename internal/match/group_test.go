package match_test

import (
	"context"
	"os"
	"testing"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func mirror(t *testing.T, st *store.Store, ecos ...string) {
	t.Helper()
	m, err := osvmirror.New(st, osvmirror.Options{BaseURL: "file://" + corpus.Dir(t), Ecosystems: ecos, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := m.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rep.Ecosystems {
		if e.Err != nil {
			t.Fatalf("mirror %s: %v", e.Ecosystem, e.Err)
		}
	}
}

func findingOf(t *testing.T, r match.ComponentResult, id string) match.Scored {
	t.Helper()
	for _, f := range r.Findings {
		if f.ID == id {
			return f
		}
	}
	t.Fatalf("%s: no finding %s in %d findings", r.Input, id, len(r.Findings))
	return match.Scored{}
}

// GO-2022-1144 (golang.org/x/net, aliases CVE-2022-41717) has no severity
// of its own; Bitnami's BIT-golang-2022-41717, filed for the Go toolchain
// under the same CVE, has a CVSS 3.1 vector. The finding takes that score
// and names the record, once Bitnami is mirrored too.
func TestSeverityFromAliasGroup(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		comps := []match.Component{{Input: "pkg:golang/golang.org/x/net@0.0.1"}, {Input: "pkg:cargo/smallvec@1.6.0"}}
		mirror(t, st, "Go", "crates.io")
		res, err := match.NewScanner(st, nil).Scan(ctx, comps)
		if err != nil {
			t.Fatal(err)
		}
		if f := findingOf(t, res[0], "CVE-2022-41717"); f.Severity.Rating != severity.Unknown {
			t.Fatalf("before Bitnami is mirrored: %+v, want UNKNOWN", f.Severity)
		}

		mirror(t, st, "Bitnami")
		res, err = match.NewScanner(st, nil).Scan(ctx, comps)
		if err != nil {
			t.Fatal(err)
		}
		f := findingOf(t, res[0], "CVE-2022-41717")
		want := severity.Score{Score: 5.3, Rating: severity.Medium, Type: "CVSS_V3", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L",
			Source: "affected[0].severity[] CVSS:3.1 vector", Record: "BIT-golang-2022-41717", Origin: severity.OriginAlias}
		if f.Severity != want {
			t.Errorf("severity %+v\nwant %+v", f.Severity, want)
		}
		if len(f.Records) != 1 || f.Records[0].ID != "GO-2022-1144" {
			t.Errorf("the alias record must not join the matched records: %v", f.Records)
		}
		// A finding with a CVSS score of its own keeps it, and the
		// representative ID is the CVE that RUSTSEC-2021-0003 aliases.
		sv := findingOf(t, res[1], "CVE-2021-25900")
		if sv.Severity.Origin != severity.OriginRecord || sv.Severity.Record != "RUSTSEC-2021-0003" || sv.Severity.Score != 9.8 {
			t.Errorf("smallvec severity %+v", sv.Severity)
		}
	})
}
