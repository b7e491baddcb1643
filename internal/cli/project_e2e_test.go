package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/project"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// TestProjectCommandsLocal drives "vulngate project" on a local data
// directory: upload two versions, list, show, diff, export, delete, and a
// delta mirror followed by "project analyze".
func TestProjectCommandsLocal(t *testing.T) {
	data := mirrored(t, "Maven,Go")
	sboms := corpus.SBOMDir(t)
	base := []string{"--data-dir", data, "--log-level", "warn", "project"}
	p := func(args ...string) string {
		t.Helper()
		out, errOut, err := run(t, append(append([]string{}, base...), args...)...)
		if err != nil {
			t.Fatalf("project %v: %v\n%s\n%s", args, err, out, errOut)
		}
		return out
	}
	out := p("upload", "keycloak", "10.0.2", filepath.Join(sboms, "keycloak-10.0.2__bom.json"), "--tag", "java")
	if !strings.Contains(out, "keycloak 10.0.2:") || !strings.Contains(out, "findings") {
		t.Fatalf("upload: %s", out)
	}
	next := filepath.Join(t.TempDir(), "next.txt")
	os.WriteFile(next, []byte("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.1\npkg:golang/example.com/osv-corpus/synthetic1@v1.0.0\n"), 0o600)
	p("upload", "keycloak", "10.0.3", next)
	var page project.PortfolioPage
	if err := json.Unmarshal([]byte(p("list", "--json")), &page); err != nil || len(page.Projects) != 1 || page.Projects[0].Versions != 2 {
		t.Fatalf("list: %+v %v", page, err)
	}
	if out := p("list"); !strings.Contains(out, "keycloak") || !strings.Contains(out, "UNASSESSED") {
		t.Fatalf("list table: %s", out)
	}
	if out := p("show", "keycloak", "10.0.2"); !strings.Contains(out, "jackson-databind") {
		t.Fatalf("show: %s", out)
	}
	// 10.0.3 dropped most of 10.0.2's packages: their findings are fixed.
	if out := p("diff", "keycloak", "10.0.2", "10.0.3"); !strings.Contains(out, "fixed") || !strings.Contains(out, "-> removed") {
		t.Fatalf("diff: %s", out)
	}
	if out := p("export", "keycloak", "10.0.2", "--format", "csv"); !strings.HasPrefix(out, "project,version,component") {
		t.Fatalf("export: %.200s", out)
	}
	// The delta brings GO-2099-0001 for synthetic1.
	if _, errOut, err := run(t, "--data-dir", data, "--log-level", "warn", "mirror", "--base-url", "file://"+filepath.Join(corpus.Dir(t), "delta"), "--ecosystems", "Go"); err != nil {
		t.Fatal(err, errOut)
	}
	if out := p("analyze"); !strings.Contains(out, "1 new findings") {
		t.Fatalf("analyze: %s", out)
	}
	if out := p("show", "keycloak", "10.0.3"); !strings.Contains(out, "GO-2099-0001") {
		t.Fatalf("show after delta: %s", out)
	}
	if _, _, err := run(t, append(append([]string{}, base...), "upload", "keycloak", "../x", next)...); err == nil {
		t.Fatal("bad version accepted")
	}
	p("delete", "keycloak", "10.0.3")
	p("delete", "keycloak")
	if _, _, err := run(t, append(append([]string{}, base...), "show", "keycloak")...); err == nil {
		t.Fatal("deleted project shown")
	}
}
