package match_test

import (
	"context"
	"os"
	"testing"
	"time"

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
		// The store gives records as stored (the scanner inflates them);
		// a source giving them inflated gets the same findings.
		plain, err := match.NewScanner(inflatedOnly{st}, nil).Scan(ctx, comps)
		if err != nil {
			t.Fatal(err)
		}
		for i := range res {
			if len(plain[i].Findings) != len(res[i].Findings) {
				t.Fatalf("%s: %d findings from inflated records, %d from stored ones", res[i].Input, len(plain[i].Findings), len(res[i].Findings))
			}
			for j, f := range res[i].Findings {
				if g := plain[i].Findings[j]; g.ID != f.ID || g.Severity != f.Severity || g.Summary != f.Summary {
					t.Errorf("%s: finding %s %+v from inflated records, %s %+v from stored ones", res[i].Input, g.ID, g.Severity, f.ID, f.Severity)
				}
			}
		}
	})
}

// inflatedOnly is the store without its lookups of records as stored.
type inflatedOnly struct{ st *store.Store }

func (s inflatedOnly) AdvisoriesForNames(ctx context.Context, eco string, names []string) (map[string][]store.Advisory, error) {
	return s.st.AdvisoriesForNames(ctx, eco, names)
}

func (s inflatedOnly) AdvisoriesByIDs(ctx context.Context, ids []string, have func(part, id string) bool) ([]store.Advisory, error) {
	return s.st.AdvisoriesByIDs(ctx, ids, have)
}

// The enrichment sources' data reaches findings by the CVE IDs of their
// alias groups: NVD's score when no OSV record of the group has a vector
// (Origin "nvd"), its CWEs and publication, the highest EPSS score and the
// KEV entry.
func TestFactsFromEnrichmentSources(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mirror(t, st, "Go")
		pub := time.Date(2024, 12, 18, 21, 15, 8, 0, time.UTC)
		if err := st.UpsertNVD(ctx, []store.NVDRecord{{ID: "CVE-2024-45338", Published: pub, LastModified: pub, Status: "Analyzed",
			Metrics: []store.CVSSMetric{
				{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", Source: "134c704f-9b21-4f2e-91b3-4a467353bcc0", Type: "Secondary"},
				{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", Source: "nvd@nist.gov", Type: "Primary"},
			},
			CWEs: []string{"CWE-1333"}}}); err != nil {
			t.Fatal(err)
		}
		if err := st.ReplaceEPSS(ctx, []store.EPSSScore{{CVE: "CVE-2023-44487", EPSS: 0.94, Percentile: 0.9991}, {CVE: "CVE-2024-45338", EPSS: 0.0012, Percentile: 0.31}},
			store.EnrichmentState{Source: "epss"}); err != nil {
			t.Fatal(err)
		}
		if err := st.ReplaceKEV(ctx, []store.KEVEntry{{CVE: "CVE-2023-44487", Name: "HTTP/2 Rapid Reset Attack Vulnerability", DateAdded: "2023-10-10", DueDate: "2023-10-31", Ransomware: "Unknown"}},
			store.EnrichmentState{Source: "kev"}); err != nil {
			t.Fatal(err)
		}
		res, err := match.NewScanner(st, nil).Scan(ctx, []match.Component{{Input: "pkg:golang/golang.org/x/net@0.0.1"}})
		if err != nil {
			t.Fatal(err)
		}
		f := findingOf(t, res[0], "CVE-2024-45338")
		if f.Severity.Origin != severity.OriginNVD || f.Severity.Record != "CVE-2024-45338" || f.Severity.Score != 7.5 ||
			f.Severity.Source != "NVD CVSS:3.1 vector (nvd@nist.gov)" {
			t.Errorf("NVD severity: %+v (NVD's own metric must win over a CNA's)", f.Severity)
		}
		if len(f.CWEs) != 1 || f.CWEs[0] != "CWE-1333" || !f.Published.Equal(pub) || f.EPSS == nil || f.EPSS.Percentile != 0.31 || f.KEV != nil {
			t.Errorf("facts of CVE-2024-45338: CWEs %v published %v EPSS %+v KEV %+v", f.CWEs, f.Published, f.EPSS, f.KEV)
		}
		rr := findingOf(t, res[0], "CVE-2023-44487")
		if rr.KEV == nil || rr.KEV.DateAdded != "2023-10-10" || rr.EPSS == nil || rr.EPSS.EPSS != 0.94 {
			t.Errorf("facts of CVE-2023-44487: EPSS %+v KEV %+v", rr.EPSS, rr.KEV)
		}
		if rr.Severity.Origin == severity.OriginNVD {
			t.Errorf("a finding whose OSV records have a vector keeps it: %+v", rr.Severity)
		}
	})
}
