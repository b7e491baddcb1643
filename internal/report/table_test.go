package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/sbom"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// Golden tests for what people read, as golang/vuln's print tests do:
// each testdata/table/NAME.json is rendered and compared with NAME.txt;
// "go test ./internal/report -run TestTableGolden -update" rewrites the
// .txt files (review the diff before committing them).
var update = flag.Bool("update", false, "rewrite the golden .txt files")

// tableCase is a scan written by hand in a compact form: what the table
// shows of each component and finding, and the decisions.
type tableCase struct {
	Width       int      `json:"width"`
	Color       bool     `json:"color"`
	Assessed    bool     `json:"assessed"`
	Sources     []string `json:"sources"`
	SourceNotes []string `json:"source_notes"`
	Components  []struct {
		PURL      string   `json:"purl"`
		Name      string   `json:"name"`
		Ecosystem string   `json:"ecosystem"`
		Version   string   `json:"version"`
		Errors    []string `json:"errors"`
		Policy    string   `json:"policy"` // effect of unassessed findings
		File      string   `json:"file"`
		Line      int      `json:"line"`
		Relation  string   `json:"relationship"`
		Findings  []struct {
			ID         string    `json:"id"`
			IDs        []string  `json:"ids"`
			Rating     string    `json:"rating"`
			Score      float64   `json:"score"`
			Summary    string    `json:"summary"`
			Fixed      []string  `json:"fixed"`
			Malicious  string    `json:"malicious"`
			EPSS       []float64 `json:"epss"` // score, percentile
			KEV        string    `json:"kev"`  // date added`
			Assessment *struct {
				Type   string `json:"type"`
				Effect string `json:"effect"`
				VulnID string `json:"vuln_id"`
				Scope  string `json:"scope"`
				Auto   bool   `json:"auto"`
			} `json:"assessment"`
		} `json:"findings"`
	} `json:"components"`
}

func (c tableCase) scan() ([]match.ComponentResult, Meta) {
	var results []match.ComponentResult
	var decisions []assess.Decision
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, comp := range c.Components {
		r := match.ComponentResult{Component: match.Component{Input: comp.PURL, Name: comp.Name, Version: comp.Version,
			File: comp.File, Line: comp.Line, Relationship: comp.Relation}, Errors: comp.Errors}
		if comp.Ecosystem != "" {
			r.Package = purl.Package{Ecosystem: comp.Ecosystem, Name: comp.Name, Version: comp.Version, PURL: comp.PURL}
		}
		var as []assess.Assessment
		for _, f := range comp.Findings {
			ids := f.IDs
			if len(ids) == 0 {
				ids = []string{f.ID}
			}
			typ := osv.SeverityCVSSv3
			if f.Score == 0 {
				typ = ""
			}
			r.Findings = append(r.Findings, match.Scored{
				Finding:     match.Finding{ID: f.ID, IDs: ids, Records: []*osv.Vulnerability{{ID: f.ID}}, Fixed: f.Fixed, Sources: []string{"OSV"}},
				Severity:    severity.Score{Score: f.Score, Rating: severity.Rating(f.Rating), Type: typ},
				Summary:     f.Summary,
				Malicious:   f.Malicious != "",
				MaliciousID: f.Malicious,
			})
			if len(f.EPSS) == 2 {
				r.Findings[len(r.Findings)-1].EPSS = &store.EPSSScore{CVE: f.ID, EPSS: f.EPSS[0], Percentile: f.EPSS[1]}
			}
			if f.KEV != "" {
				r.Findings[len(r.Findings)-1].KEV = &store.KEVEntry{CVE: f.ID, DateAdded: f.KEV}
			}
			if a := f.Assessment; a != nil {
				as = append(as, assess.Assessment{VulnID: a.VulnID, Scope: a.Scope, Type: a.Type, Effect: assess.Effect(a.Effect), Auto: a.Auto, At: t0})
			}
		}
		results = append(results, r)
		decisions = append(decisions, assess.Decide(comp.PURL, assess.FindingsOf(r), assess.NewIndex("project:web", as), assess.Effect(comp.Policy), t0))
	}
	meta := Meta{Tool: "vulngate", Version: "test", Sources: c.Sources, SourceNotes: c.SourceNotes, Width: c.Width, Color: c.Color}
	if c.Assessed {
		meta.Decisions = decisions
	}
	return results, meta
}

func TestTableGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "table", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var c tableCase
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			results, meta := c.scan()
			var buf bytes.Buffer
			if err := Write(&buf, Table, results, meta); err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(file, ".json")+".txt", buf.String())
			checkWidth(t, buf.String(), meta)
		})
	}
}

// TestTableKeycloak renders the real scan of keycloak's SBOM (the shared
// corpus's Maven advisories, every finding unassessed under the default
// policy), the case the issue measured at 609 characters a line.
func TestTableKeycloak(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := osvmirror.New(st, osvmirror.Options{BaseURL: "file://" + corpus.Dir(t), Ecosystems: []string{"Maven"}, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	cs, _, err := sbom.ReadFile(filepath.Join(corpus.SBOMDir(t), "keycloak-10.0.2__bom.json"))
	if err != nil {
		t.Fatal(err)
	}
	var comps []match.Component
	for _, c := range cs {
		comps = append(comps, match.Component{Input: c.PURL, Name: c.Name, Version: c.Version, BOMRef: c.BOMRef, Path: c.Path})
	}
	results, err := match.NewScanner(st, nil).Scan(ctx, comps)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := assess.New(st).Evaluate(ctx, assess.Global, results)
	if err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{DefaultWidth, 80} {
		var buf bytes.Buffer
		meta := Meta{Tool: "vulngate", Version: "test", Inputs: []string{"keycloak-10.0.2__bom.json"}, Sources: []string{"OSV"}, Decisions: ds, Width: width}
		if err := Write(&buf, Table, results, meta); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		golden(t, filepath.Join("testdata", "table", "keycloak-"+strconv.Itoa(width)+".txt"), out)
		checkWidth(t, out, meta)
		// Every finding is there, once, unassessed; the decision is on
		// the component lines only.
		if n := strings.Count(out, "Unassessed"); n != 258 {
			t.Errorf("width %d: %d unassessed finding lines, want 258", width, n)
		}
		if n := strings.Count(out, "\nWARN "); n != 60 {
			t.Errorf("width %d: %d component lines with WARN, want 60", width, n)
		}
	}
}

// checkWidth holds every line to the width (colour codes aside).
func checkWidth(t *testing.T, out string, meta Meta) {
	t.Helper()
	width := meta.Width
	if width == 0 {
		width = DefaultWidth
	}
	for i, line := range strings.Split(out, "\n") {
		if n := runeLen(stripANSI(line)); n > width {
			t.Errorf("line %d is %d columns wide, more than %d: %q", i+1, n, width, line)
		}
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && s[j] != 'm' {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; -update rewrites it):\n%s", path, diff)
	}
}
