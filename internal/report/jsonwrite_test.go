package report

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/vulngate/vulngate/internal/jsonenc"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/severity"
)

// TestJSONByHand: the hand-written report encoder writes the bytes the
// reflecting encoder writes for the report's types, over generated
// documents that take every optional member both ways and strings that
// need escaping, and it knows every field of those types.
func TestJSONByHand(t *testing.T) {
	// A field added to one of these types must be written by
	// jsonwrite.go too; then update the count here.
	for typ, n := range map[reflect.Type]int{
		reflect.TypeFor[jsonDoc]():        6,
		reflect.TypeFor[jsonTool]():       2,
		reflect.TypeFor[jsonComponent]():  12,
		reflect.TypeFor[jsonLocation]():   2,
		reflect.TypeFor[jsonDecision]():   3,
		reflect.TypeFor[jsonAssessment](): 12,
		reflect.TypeFor[jsonFinding]():    13,
		reflect.TypeFor[Facts]():          4,
		reflect.TypeFor[jsonUpgrade]():    5,
		reflect.TypeFor[EPSS]():           3,
		reflect.TypeFor[KEV]():            6,
		reflect.TypeFor[jsonSeverity]():   7,
		reflect.TypeFor[Summary]():        7,
	} {
		if typ.NumField() != n {
			t.Errorf("%v has %d fields, jsonwrite.go writes %d: write the new field there", typ, typ.NumField(), n)
		}
	}
	r := rand.New(rand.NewPCG(16, 13))
	defer func(n int) { jsonChunk = n }(jsonChunk)
	for i := range 400 {
		// Documents of more than a chunk of components are encoded by
		// two workers, a chunk at a time: the same bytes.
		jsonChunk = 1 + i%3
		doc := genDoc(r, i%7 == 0)
		var want, got bytes.Buffer
		if doc.Components == nil { // never nil in a report
			doc.Components = []jsonComponent{}
		}
		if err := jsonenc.WriteIndented(&want, doc); err != nil {
			t.Fatal(err)
		}
		if err := writeJSONDoc(&got, &doc, len(doc.Components), func(i int) jsonComponent { return doc.Components[i] }); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want.Bytes(), got.Bytes()) {
			w, g := want.Bytes(), got.Bytes()
			at := 0
			for at < min(len(w), len(g)) && w[at] == g[at] {
				at++
			}
			t.Fatalf("document %d differs at byte %d:\nwant …%s…\ngot  …%s…", i, at, w[max(0, at-80):min(len(w), at+80)], g[max(0, at-80):min(len(g), at+80)])
		}
	}
}

// TestJSONNotFinite: a score that JSON cannot hold fails the report as
// the reflecting encoder fails it.
func TestJSONNotFinite(t *testing.T) {
	res := []match.ComponentResult{{Component: match.Component{Input: "pkg:npm/a@1"},
		Findings: []match.Scored{{Finding: match.Finding{ID: "X-1"}, Severity: severity.Score{Score: math.NaN()}}}}}
	if err := writeJSON(&bytes.Buffer{}, res, Meta{}); err == nil {
		t.Fatal("a NaN score was written")
	}
}

var genStrings = []string{"", "plain", "CVE-2024-1234", "a \"quoted\" \\ path", "<script>&amp;</script>", "tab\tnew\nline\r\b\f\x01\x1f",
	"ünïcödé ✓ 中文", "\u2028\u2029", "bad \xff\xfe utf-8", "emoji 😀", "\x7f del", "pkg:npm/%40scope/name@1.0.0"}

func genStr(r *rand.Rand) string { return genStrings[r.IntN(len(genStrings))] }

func genList(r *rand.Rand) []string {
	switch r.IntN(4) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	out := make([]string, 1+r.IntN(3))
	for i := range out {
		out[i] = genStr(r)
	}
	return out
}

var genFloats = []float64{0, 1, 7.5, 9.8, 10, 0.1, 1e-7, 1.5e-9, 1e21, 3.2e25, 123456789.125, 0.000001, 0.97512, -2.5}

func genFloat(r *rand.Rand) float64 { return genFloats[r.IntN(len(genFloats))] }

func genDoc(r *rand.Rand, empty bool) jsonDoc {
	doc := jsonDoc{Schema: SchemaV1, Tool: jsonTool{Name: genStr(r), Version: genStr(r)}, Inputs: genList(r), Sources: genList(r),
		Summary: Summary{Components: r.IntN(5000), Vulnerable: r.IntN(100), Findings: r.IntN(100000), WithErrors: r.IntN(3), HighestScore: genFloat(r), Malicious: r.IntN(2)}}
	switch r.IntN(3) {
	case 1:
		doc.Summary.ByRating = map[string]int{}
	case 2:
		doc.Summary.ByRating = map[string]int{"CRITICAL": 3, "HIGH": 10, "": 1, genStr(r): 4, "LOW": 0}
	}
	if empty {
		if r.IntN(2) == 0 {
			doc.Components = []jsonComponent{}
		}
		return doc
	}
	for range 1 + r.IntN(6) {
		c := jsonComponent{PURL: genStr(r), Name: genStr(r), Version: genStr(r), Ecosystem: genStr(r), BOMRef: genStr(r), Path: genList(r),
			Errors: genList(r), Relationship: genStr(r)}
		if r.IntN(4) > 0 {
			c.Findings = []jsonFinding{}
		}
		if r.IntN(2) == 0 {
			c.Decision = &jsonDecision{Effect: genStr(r), Reasons: genList(r), Message: genStr(r)}
		}
		if r.IntN(2) == 0 {
			c.Location = &jsonLocation{File: genStr(r), Line: r.IntN(3) * 17}
		}
		if r.IntN(2) == 0 {
			c.Upgrade = &jsonUpgrade{Version: genStr(r), Step: genStr(r), Fixes: r.IntN(4), Unfixed: genList(r), From: genStr(r)}
		}
		for range r.IntN(4) {
			f := jsonFinding{ID: genStr(r), IDs: genList(r), Aliases: genList(r), Records: genList(r), Summary: genStr(r),
				Severity:      jsonSeverity{Score: genFloat(r), Rating: genStr(r), Type: genStr(r), Vector: genStr(r), Source: genStr(r), Record: genStr(r), Origin: genStr(r)},
				FixedVersions: genList(r), Sources: genList(r), Malicious: r.IntN(2) == 0, MaliciousID: genStr(r), Matched: genList(r)}
			if r.IntN(2) == 0 {
				f.Assessment = &jsonAssessment{Status: genStr(r), Effect: genStr(r), Type: genStr(r), AssessedID: genStr(r), Scope: genStr(r), By: genStr(r),
					At: genStr(r), Expires: genStr(r), Comment: genStr(r), Auto: r.IntN(2) == 0, Builtin: genStr(r), MalwareOverride: r.IntN(2) == 0}
			}
			if r.IntN(2) == 0 {
				f.EPSS = &EPSS{CVE: genStr(r), Score: genFloat(r), Percentile: genFloat(r)}
			}
			if r.IntN(2) == 0 {
				f.KnownExploited = &KEV{CVE: genStr(r), Name: genStr(r), DateAdded: genStr(r), DueDate: genStr(r), Ransomware: r.IntN(2) == 0, RequiredAction: genStr(r)}
			}
			f.CWEs, f.Published = genList(r), genStr(r)
			c.Findings = append(c.Findings, f)
		}
		doc.Components = append(doc.Components, c)
	}
	return doc
}
