package project_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/project"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func mirror(t testing.TB, st *store.Store, base string, ecos ...string) {
	t.Helper()
	m, err := osvmirror.New(st, osvmirror.Options{BaseURL: base, Ecosystems: ecos, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := m.Sync(context.Background())
	if err != nil || rep.Failed() {
		t.Fatalf("mirror %s: %v %+v", base, err, rep)
	}
}

// Synthetic1 is a Go module the corpus's delta snapshot brings a new
// advisory for (GO-2099-0001, fixed in 1.1.1).
const synthetic1 = "pkg:golang/example.com/osv-corpus/synthetic1@v1.0.0"

// keycloakNext is the walkthrough's second keycloak version
// (testdata/README.md): keycloak's SBOM with jackson-databind upgraded and
// the Go module the delta's new advisory affects added.
func keycloakNext(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("../../testdata/keycloak-10.0.3__bom.json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestProjectLifecycle(t *testing.T) {
	dir := corpus.Dir(t)
	sboms := corpus.SBOMDir(t)
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mirror(t, st, "file://"+dir, "Maven", "Go")
		as := assess.New(st)
		var newInScope []string
		as.OnNewFindings = func(_ context.Context, scope string, fs []store.StoredFinding) {
			for _, f := range fs {
				newInScope = append(newInScope, scope+" "+f.VulnID)
			}
		}
		svc := project.New(project.Options{Store: st, Assess: as})

		// Bad input changes nothing.
		if _, err := svc.Upload(ctx, project.UploadRequest{Project: "keycloak", Version: "1", FileName: "bom.json", Body: strings.NewReader(`{"bomFormat": 3`)}); !errors.Is(err, project.ErrInvalid) {
			t.Fatalf("malformed upload: %v", err)
		}
		if _, err := svc.Upload(ctx, project.UploadRequest{Project: "../x", Version: "1", Body: strings.NewReader("pkg:npm/a@1")}); !errors.Is(err, project.ErrInvalid) {
			t.Fatalf("bad name: %v", err)
		}
		if ps, _, _ := svc.Portfolio(ctx, project.Filter{}); len(ps) != 0 {
			t.Fatalf("bad uploads created projects: %+v", ps)
		}

		f, err := os.Open(filepath.Join(sboms, "keycloak-10.0.2__bom.json"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r1, err := svc.Upload(ctx, project.UploadRequest{Project: "keycloak", Version: "10.0.2", FileName: "keycloak-10.0.2__bom.json", Body: f, By: "alice", Tags: []string{"java", "iam"}})
		if err != nil {
			t.Fatal(err)
		}
		if r1.Components < 800 || r1.Findings == 0 || r1.New == 0 || r1.Format != "cyclonedx-json" {
			t.Fatalf("upload 1: %+v", r1)
		}
		r2, err := svc.Upload(ctx, project.UploadRequest{Project: "keycloak", Version: "10.0.3", FileName: "next.json", Body: bytes.NewReader(keycloakNext(t))})
		if err != nil {
			t.Fatal(err)
		}
		if r2.Components != r1.Components+1 {
			t.Fatalf("upload 2: %+v", r2)
		}
		// Another project shares packages: deletes must not touch it.
		if _, err := svc.Upload(ctx, project.UploadRequest{Project: "other", Version: "1.0", FileName: "purls.txt",
			Body: strings.NewReader("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.1\n" + synthetic1 + "\n")}); err != nil {
			t.Fatal(err)
		}

		// Dependency paths come from the CycloneDX graph.
		v, err := svc.Version(ctx, "keycloak", "10.0.2", true)
		if err != nil {
			t.Fatal(err)
		}
		var jd *project.Component
		for i := range v.Components {
			if strings.Contains(v.Components[i].PURL, "jackson-databind@2.10.1") {
				jd = &v.Components[i]
			}
		}
		if jd == nil || len(jd.Findings) == 0 || len(jd.Path) == 0 || !strings.Contains(jd.Path[0], "@") {
			t.Fatalf("jackson-databind in 10.0.2: %+v", jd)
		}
		if jd.Decision.Effect == "" || len(jd.Verdicts) != len(jd.Findings) {
			t.Fatalf("decision: %+v", jd.Decision)
		}

		// The comparison: upgrading jackson-databind fixes findings.
		d, err := svc.Compare(ctx, "keycloak", "10.0.2", "10.0.3")
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Fixed) == 0 || len(d.Unchanged) == 0 {
			t.Fatalf("diff: %d new, %d fixed, %d unchanged", len(d.New), len(d.Fixed), len(d.Unchanged))
		}
		for _, e := range d.Fixed {
			if !strings.Contains(e.Package, "jackson-databind") {
				t.Errorf("fixed finding outside jackson-databind: %+v", e)
			}
		}

		// Auto-assessment was recorded in the project's scope only.
		auto, err := as.List(ctx, assess.ListFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(auto) == 0 {
			t.Fatal("no auto-assessment")
		}
		for _, a := range auto {
			if !strings.HasPrefix(a.Scope, "project:") {
				t.Fatalf("auto-assessment outside a project scope: %+v", a)
			}
		}

		// Analysis with nothing changed does nothing.
		rep, err := svc.Analyze(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.New != 0 || rep.Closed != 0 {
			t.Fatalf("idle analysis: %+v", rep)
		}
		newInScope = nil

		// The delta: GO-2099-0001 arrives for synthetic1; five Go
		// advisories disappear. Only Go components are re-evaluated.
		mirror(t, st, "file://"+filepath.Join(dir, "delta"), "Go")
		rep, err = svc.Analyze(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.New != 2 || rep.Components != 2 || rep.Versions != 2 {
			t.Fatalf("delta analysis: %+v", rep)
		}
		slices.Sort(newInScope)
		if want := []string{"project:keycloak GO-2099-0001", "project:other GO-2099-0001"}; !slices.Equal(newInScope, want) {
			t.Fatalf("new findings hook: %v, want %v", newInScope, want)
		}
		v3, err := svc.Version(ctx, "keycloak", "10.0.3", true)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range v3.Components {
			if c.PURL == synthetic1 {
				found = len(c.Findings) == 1 && c.Findings[0].VulnID == "GO-2099-0001" && c.Findings[0].Rating != ""
			}
		}
		if !found {
			t.Fatal("GO-2099-0001 not recorded on synthetic1 in 10.0.3")
		}
		d, err = svc.Compare(ctx, "keycloak", "10.0.2", "10.0.3")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(d.New, func(e project.DiffEntry) bool { return e.VulnID == "GO-2099-0001" }) {
			t.Fatalf("diff misses the new advisory: %+v", d.New)
		}

		// Portfolio, sorted and filtered.
		ps, total, err := svc.Portfolio(ctx, project.Filter{Sort: "findings", Desc: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 2 || ps[0].Name != "keycloak" || ps[0].Versions != 2 || ps[0].Latest != "10.0.3" || ps[0].Counts.Findings == 0 || total.Findings < ps[0].Counts.Findings {
			t.Fatalf("portfolio: %+v", ps)
		}
		if ps[0].Counts.Findings != ps[0].Counts.Critical+ps[0].Counts.High+ps[0].Counts.Medium+ps[0].Counts.Low+ps[0].Counts.Unknown {
			t.Fatalf("counts do not add up: %+v", ps[0].Counts)
		}
		if ps, _, _ := svc.Portfolio(ctx, project.Filter{Tag: "java"}); len(ps) != 1 || ps[0].Name != "keycloak" {
			t.Fatalf("tag filter: %+v", ps)
		}
		if err := svc.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
		trend, err := svc.Trend(ctx, 30)
		if err != nil || len(trend) != 1 || trend[0].Findings != total.Findings {
			t.Fatalf("trend: %+v %v", trend, err)
		}

		// Exports.
		var buf bytes.Buffer
		if err := svc.Export(ctx, &buf, "keycloak", "10.0.3", "csv", "test"); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(recs) < 2 || recs[0][6] != "id" {
			t.Fatalf("csv: %v %v", err, recs[:1])
		}
		for _, fmtName := range []string{"json", "sarif", "openvex"} {
			buf.Reset()
			if err := svc.Export(ctx, &buf, "keycloak", "10.0.3", fmtName, "test"); err != nil {
				t.Fatal(fmtName, err)
			}
			if !json.Valid(buf.Bytes()) {
				t.Fatalf("%s export is not JSON", fmtName)
			}
		}

		// Re-upload replaces; deleting a version closes scope findings of
		// packages no other version has; deleting a project leaves others.
		if _, err := svc.Upload(ctx, project.UploadRequest{Project: "keycloak", Version: "10.0.3", FileName: "p.txt", Body: strings.NewReader("pkg:maven/org.example/none@1.0\n")}); err != nil {
			t.Fatal(err)
		}
		v3b, err := svc.Version(ctx, "keycloak", "10.0.3", false)
		if err != nil || len(v3b.Components) != 1 {
			t.Fatalf("re-upload: %+v %v", v3b.Components, err)
		}
		open, err := as.OpenFindings(ctx, "project:keycloak")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range open {
			if strings.Contains(f.PURL, "synthetic1") {
				t.Fatal("finding of a package no version holds stayed open")
			}
		}
		if err := svc.Delete(ctx, "keycloak"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Get(ctx, "keycloak"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted project: %v", err)
		}
		if open, _ := as.OpenFindings(ctx, "project:keycloak"); len(open) != 0 {
			t.Fatalf("scope findings survived: %d", len(open))
		}
		ov, err := svc.Version(ctx, "other", "1.0", true)
		if err != nil || len(ov.Components) != 2 {
			t.Fatalf("other project after delete: %+v %v", ov, err)
		}
		if err := svc.DeleteVersion(ctx, "other", "2.0"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown version: %v", err)
		}
		_ = time.Now
	})
}
