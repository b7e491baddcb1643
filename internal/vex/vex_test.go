package vex

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newService opens a fresh store with the corpus's Maven advisories.
func newService(t testing.TB) *assess.Service {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m, err := osvmirror.New(st, osvmirror.Options{BaseURL: "file://" + corpus.Dir(t), Ecosystems: []string{"Maven"}, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s := assess.New(st)
	s.Now = func() time.Time { return t0 }
	return s
}

// populate records a project scan and assesses: auto-assessment gives
// commons-text's CVE Blocked; we add a Caution, an Ignore with a project
// scope, and a custom-type assessment.
func populate(t testing.TB, s *assess.Service) {
	t.Helper()
	ctx := context.Background()
	var comps []match.Component
	for _, p := range []string{"pkg:maven/org.apache.commons/commons-text@1.9", "pkg:maven/junit/junit@4.12", "pkg:maven/io.netty/netty-codec-http@4.1.50.Final"} {
		comps = append(comps, match.Component{Input: p})
	}
	res, err := match.NewScanner(s.Store(), nil).Scan(ctx, comps)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordScan(ctx, "project:ci", res); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateType(ctx, assess.Type{Name: "Critical Review", Effect: assess.Warn}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []assess.SetRequest{
		{VulnID: "CVE-2021-21290", Type: assess.Caution, Comment: "only the client is used", By: "alice", Expires: t0.Add(48 * time.Hour)},
		{VulnID: "GHSA-269g-pwp5-87pp", Type: assess.Ignore, Scope: "project:ci", Comment: "test dependency", By: "bob", Never: true},
		{VulnID: "CVE-2022-24823", Type: "Critical Review", By: "carol"},
	} {
		if _, err := s.Set(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		f    Format
		spec string
	}{{CycloneDX, "1.5"}, {CycloneDX, "1.6"}, {OpenVEX, ""}} {
		t.Run(string(tc.f)+tc.spec, func(t *testing.T) {
			ctx := context.Background()
			src := newService(t)
			populate(t, src)
			want, err := src.List(ctx, assess.ListFilter{})
			if err != nil || len(want) < 4 {
				t.Fatalf("source assessments %d %v", len(want), err)
			}
			var buf bytes.Buffer
			if err := ExportFrom(ctx, src, &buf, ExportOptions{Format: tc.f, Author: "vulngate test", SpecVersion: tc.spec}); err != nil {
				t.Fatal(err)
			}
			checkShape(t, tc.f, tc.spec, buf.Bytes())

			dst := newService(t)
			if err := dst.CreateType(ctx, assess.Type{Name: "Critical Review", Effect: assess.Warn}); err != nil {
				t.Fatal(err)
			}
			res, err := ImportInto(ctx, dst, bytes.NewReader(buf.Bytes()), "export.json", "", "importer")
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != tc.f || len(res.Imported) != len(want) {
				t.Fatalf("imported %d of %d (%s)", len(res.Imported), len(want), res.Format)
			}
			got, _ := dst.List(ctx, assess.ListFilter{})
			if len(got) != len(want) {
				t.Fatalf("got %d assessments, want %d", len(got), len(want))
			}
			for i := range want {
				w, g := want[i], got[i]
				if g.VulnID != w.VulnID || g.Scope != w.Scope || g.Type != w.Type || g.Effect != w.Effect || g.Comment != w.Comment ||
					g.By != w.By || !g.At.Equal(w.At) || !g.Expires.Equal(w.Expires) || g.Auto != w.Auto {
					t.Errorf("assessment %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
			h, _ := dst.History(ctx, "GHSA-269g-pwp5-87pp")
			if len(h) != 1 || h[0].Action != "import" || h[0].Actor != "importer" {
				t.Errorf("import history %+v", h)
			}
		})
	}
}

// checkShape checks the documented fields of each format.
func checkShape(t *testing.T, f Format, spec string, data []byte) {
	t.Helper()
	s := string(data)
	switch f {
	case CycloneDX:
		var doc struct {
			BOMFormat       string `json:"bomFormat"`
			SpecVersion     string `json:"specVersion"`
			Vulnerabilities []struct {
				ID       string `json:"id"`
				Analysis struct {
					State         string   `json:"state"`
					Justification string   `json:"justification"`
					Response      []string `json:"response"`
				} `json:"analysis"`
				Affects []struct {
					Ref string `json:"ref"`
				} `json:"affects"`
			} `json:"vulnerabilities"`
		}
		if err := json.Unmarshal(data, &doc); err != nil || doc.BOMFormat != "CycloneDX" || doc.SpecVersion != spec {
			t.Fatalf("not CycloneDX %s: %v\n%s", spec, err, s)
		}
		states := map[string]string{}
		for _, v := range doc.Vulnerabilities {
			states[v.ID] = v.Analysis.State + "/" + v.Analysis.Justification + "/" + strings.Join(v.Analysis.Response, ",")
		}
		for id, want := range map[string]string{
			"GHSA-269g-pwp5-87pp": "not_affected/code_not_reachable/",
			"CVE-2021-21290":      "exploitable//workaround_available",
			"CVE-2022-42889":      "exploitable//update",
		} {
			if states[id] != want {
				t.Errorf("%s: %q, want %q", id, states[id], want)
			}
		}
	case OpenVEX:
		var doc openVEXDoc
		if err := json.Unmarshal(data, &doc); err != nil || doc.Context != OpenVEXContext || !strings.HasPrefix(doc.ID, "urn:uuid:") {
			t.Fatalf("not OpenVEX: %v\n%s", err, s)
		}
		for _, st := range doc.Statements {
			if st.Vulnerability.Name == "GHSA-269g-pwp5-87pp" {
				if st.Status != "not_affected" || st.Justification != justificationIgnore || st.ImpactStatement != "test dependency" ||
					len(st.Products) != 1 || st.Products[0].ID != "pkg:maven/junit/junit@4.12" {
					t.Errorf("Ignore statement %+v", st)
				}
			}
			if st.Vulnerability.Name == "CVE-2022-42889" && (st.Status != "affected" || !strings.HasPrefix(st.ActionStatement, "Blocked: do not use")) {
				t.Errorf("Blocked statement %+v", st)
			}
		}
	}
}

func TestImportForeignDocuments(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	// A third-party OpenVEX document without vulngate metadata.
	ov := `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1","author":"Vendor","timestamp":"2026-02-01T00:00:00Z","version":1,
"statements":[
 {"vulnerability":{"name":"CVE-2022-42889"},"products":[{"@id":"pkg:maven/org.apache.commons/commons-text@1.9"}],"status":"not_affected","justification":"vulnerable_code_not_present"},
 {"vulnerability":{"name":"CVE-2020-15250"},"status":"affected","action_statement":"upgrade"},
 {"vulnerability":{"name":"CVE-2021-21290"},"status":"under_investigation"}]}`
	res, err := ImportInto(ctx, s, strings.NewReader(ov), "vendor.json", "project:ci", "dave")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Imported) != 2 || res.Skipped != 1 {
		t.Fatalf("imported %+v", res)
	}
	got, _ := s.List(ctx, assess.ListFilter{})
	if len(got) != 2 || got[0].VulnID != "CVE-2020-15250" || got[0].Type != assess.Blocked || got[0].Scope != "project:ci" ||
		got[1].Type != assess.Ignore || got[1].By != "Vendor" || !got[1].At.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("assessments %+v", got)
	}
	// A CycloneDX VEX with exploitable + workaround only is Caution.
	cx := `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"vulnerabilities":[
 {"id":"CVE-2021-21290","analysis":{"state":"exploitable","response":["workaround_available"],"detail":"set maxContentLength"}}]}`
	if _, err := ImportInto(ctx, s, strings.NewReader(cx), "cdx.json", "", "dave"); err != nil {
		t.Fatal(err)
	}
	l, _ := s.List(ctx, assess.ListFilter{VulnID: "CVE-2021-21290"})
	if len(l) != 1 || l[0].Type != assess.Caution || l[0].Comment != "set maxContentLength" {
		t.Fatalf("cdx import %+v", l)
	}
}

func TestMalformedVEXChangesNothing(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	cases := map[string]string{
		`{"bomFormat":"CycloneDX"`: "not a JSON VEX document",
		`{"hello":"world"}`:        "neither CycloneDX",
		`[1,2]`:                    "not a JSON VEX document",
		`{"bomFormat":"CycloneDX","specVersion":"1.5"}`: "no vulnerabilities[]",
		`{"bomFormat":"CycloneDX","specVersion":"1.5","vulnerabilities":[{"id":"CVE-2022-42889","analysis":{"state":"not_affected"}},{"analysis":{"state":"exploitable"}}]}`:                          "vulnerabilities[1]: no vulnerability ID",
		`{"bomFormat":"CycloneDX","specVersion":"1.5","vulnerabilities":[{"id":"CVE-2022-42889","analysis":{"state":"exploitable","lastUpdated":"yesterday"}}]}`:                                      "is not RFC 3339",
		`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-2022-42889"},"status":"maybe"}]}`:                                                                    `unknown status "maybe"`,
		`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{},"status":"affected"}]}`:                                                                                        "statements[0]: no vulnerability ID",
		`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-2022-42889"},"status":"affected"},{"vulnerability":{"name":"CVE-1999-99999"},"status":"affected"}]}`: `nothing imported: statement 2: unknown vulnerability ID "CVE-1999-99999"`,
		`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-2022-42889"},"status":"affected","status_notes":"vulngate:type=Nope&scope=global"}]}`:                `unknown assessment type "Nope"`,
	}
	for doc, want := range cases {
		_, err := ImportInto(ctx, s, strings.NewReader(doc), "bad.json", "", "x")
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "bad.json: ") {
			t.Errorf("%s:\n err %v\nwant %q", doc, err, want)
		}
	}
	if got, _ := s.List(ctx, assess.ListFilter{IncludeExpired: true}); len(got) != 0 {
		t.Fatalf("something was imported: %+v", got)
	}
}
