package severity

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/osv"
)

func TestFromVectorKnownScores(t *testing.T) {
	// Scores of well-known vectors as published by the FIRST calculators
	// and NVD; the v2/v3 ones are also re-derived by refScore below.
	tests := []struct {
		typ, vector string
		score       float64
		rating      Rating
	}{
		{osv.SeverityCVSSv3, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, Critical},
		{osv.SeverityCVSSv3, "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, Critical},
		{osv.SeverityCVSSv3, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, High},
		{osv.SeverityCVSSv3, "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1, High},
		{osv.SeverityCVSSv3, "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, Medium},
		{osv.SeverityCVSSv3, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0, None},
		{osv.SeverityCVSSv2, "AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, High},
		{osv.SeverityCVSSv2, "AV:N/AC:M/Au:N/C:N/I:N/A:P", 4.3, Medium},
		{osv.SeverityCVSSv2, "AV:N/AC:L/Au:N/C:N/I:N/A:P", 5.0, Medium},
		{osv.SeverityCVSSv2, "AV:L/AC:L/Au:S/C:N/I:N/A:P", 1.7, Low},
		{osv.SeverityCVSSv2, "AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0, High},
		{osv.SeverityCVSSv4, "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, Critical},
		{osv.SeverityCVSSv4, "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0, Critical},
		{osv.SeverityCVSSv4, "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N", 8.7, High},
		{osv.SeverityCVSSv4, "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 6.9, Medium},
		{osv.SeverityCVSSv4, "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0, None},
	}
	for _, tt := range tests {
		got, err := FromVector(tt.typ, tt.vector)
		if err != nil {
			t.Errorf("FromVector(%s, %s): %v", tt.typ, tt.vector, err)
			continue
		}
		if got.Score != tt.score || got.Rating != tt.rating || got.Type != tt.typ || got.Vector != tt.vector {
			t.Errorf("FromVector(%s, %s) = %+v, want score %.1f rating %s", tt.typ, tt.vector, got, tt.score, tt.rating)
		}
	}
}

func TestFromVectorErrors(t *testing.T) {
	tests := []struct{ typ, vector string }{
		{osv.SeverityCVSSv3, "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},          // no prefix
		{osv.SeverityCVSSv3, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H"},     // A missing
		{osv.SeverityCVSSv3, "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}, // bad value
		{osv.SeverityCVSSv3, "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
		{osv.SeverityCVSSv2, "AV:N/AC:L/Au:N/C:P/I:P"},
		{osv.SeverityCVSSv2, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		{osv.SeverityCVSSv4, "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N"},
		{osv.SeverityCVSSv4, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		{osv.SeverityUbuntu, "high"},
		{"", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
	}
	for _, tt := range tests {
		_, err := FromVector(tt.typ, tt.vector)
		if err == nil {
			t.Errorf("FromVector(%q, %q): no error", tt.typ, tt.vector)
			continue
		}
		if !strings.Contains(err.Error(), tt.vector) {
			t.Errorf("FromVector(%q, %q) error %q does not name the vector", tt.typ, tt.vector, err)
		}
	}
}

// TestFromVectorCorpus scores every CVSS vector found in the offline OSV
// corpus. v2 and v3.x scores are checked against refScore, an independent
// implementation of the base score equations of the CVSS v2 guide and the
// v3.0/v3.1 specifications; v4.0 (a lookup-table method) is checked for
// range and band consistency only.
func TestFromVectorCorpus(t *testing.T) {
	f, err := os.Open("testdata/corpus-vectors.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		typ, vector, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		got, err := FromVector(typ, vector)
		if err != nil {
			t.Errorf("corpus vector: %v", err)
			continue
		}
		n[typ]++
		if got.Rating != RatingFor(got.Score, typ == osv.SeverityCVSSv2) {
			t.Errorf("%s: rating %s does not match score %.1f", vector, got.Rating, got.Score)
		}
		if got.Score < 0 || got.Score > 10 {
			t.Errorf("%s: score %.1f out of range", vector, got.Score)
		}
		if typ == osv.SeverityCVSSv4 {
			continue
		}
		want, ok := refScore(t, typ, vector)
		if !ok {
			continue
		}
		if got.Score != want {
			t.Errorf("FromVector(%s) = %.1f, reference formula gives %.1f", vector, got.Score, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{osv.SeverityCVSSv2, osv.SeverityCVSSv3, osv.SeverityCVSSv4} {
		if n[typ] == 0 {
			t.Errorf("no %s vectors checked", typ)
		}
	}
}

// refScore computes a CVSS v2 or v3.x base score from the published
// equations. ok is false when the vector has a metric it does not know.
func refScore(t *testing.T, typ, vector string) (score float64, ok bool) {
	t.Helper()
	m := map[string]string{}
	body := vector
	version := "2.0"
	if typ == osv.SeverityCVSSv3 {
		version = vector[len("CVSS:") : len("CVSS:")+3]
		body = vector[len("CVSS:3.x/"):]
	}
	for _, kv := range strings.Split(body, "/") {
		k, v, _ := strings.Cut(kv, ":")
		m[k] = v
	}
	lookup := func(metric string, table map[string]float64) float64 {
		v, found := table[m[metric]]
		if !found {
			t.Errorf("%s: metric %s value %q unknown to the reference", vector, metric, m[metric])
			ok = false
		}
		return v
	}
	ok = true
	if version == "2.0" {
		cia := map[string]float64{"N": 0, "P": 0.275, "C": 0.660}
		impact := 10.41 * (1 - (1-lookup("C", cia))*(1-lookup("I", cia))*(1-lookup("A", cia)))
		expl := 20 * lookup("AV", map[string]float64{"L": 0.395, "A": 0.646, "N": 1.0}) *
			lookup("AC", map[string]float64{"H": 0.35, "M": 0.61, "L": 0.71}) *
			lookup("Au", map[string]float64{"M": 0.45, "S": 0.56, "N": 0.704})
		f := 1.176
		if impact == 0 {
			f = 0
		}
		return math.Round(((0.6*impact)+(0.4*expl)-1.5)*f*10) / 10, ok
	}
	changed := m["S"] == "C"
	cia := map[string]float64{"H": 0.56, "L": 0.22, "N": 0}
	iss := 1 - (1-lookup("C", cia))*(1-lookup("I", cia))*(1-lookup("A", cia))
	var impact float64
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	pr := map[string]float64{"N": 0.85, "L": 0.62, "H": 0.27}
	if changed {
		pr = map[string]float64{"N": 0.85, "L": 0.68, "H": 0.5}
	}
	expl := 8.22 * lookup("AV", map[string]float64{"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}) *
		lookup("AC", map[string]float64{"L": 0.77, "H": 0.44}) *
		lookup("PR", pr) *
		lookup("UI", map[string]float64{"N": 0.85, "R": 0.62})
	if impact <= 0 {
		return 0, ok
	}
	sum := impact + expl
	if changed {
		sum *= 1.08
	}
	sum = math.Min(sum, 10)
	if version == "3.0" {
		return math.Ceil(sum*10) / 10, ok
	}
	// CVSS v3.1 Appendix A Roundup, which avoids floating point artefacts.
	i := int64(math.Round(sum * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000, ok
	}
	return float64(i/10000+1) / 10, ok
}

func TestRatingFor(t *testing.T) {
	tests := []struct {
		score  float64
		v2     bool
		rating Rating
	}{
		{0, false, None},
		{0.1, false, Low},
		{3.9, false, Low},
		{4.0, false, Medium},
		{6.9, false, Medium},
		{7.0, false, High},
		{8.9, false, High},
		{9.0, false, Critical},
		{10, false, Critical},
		{0, true, Low},
		{3.9, true, Low},
		{4.0, true, Medium},
		{6.9, true, Medium},
		{7.0, true, High},
		{8.9, true, High},
		{9.0, true, High},
		{10, true, High},
		{-1, false, Unknown},
		{10.1, true, Unknown},
		{math.NaN(), false, Unknown},
	}
	for _, tt := range tests {
		if got := RatingFor(tt.score, tt.v2); got != tt.rating {
			t.Errorf("RatingFor(%v, %v) = %s, want %s", tt.score, tt.v2, got, tt.rating)
		}
	}
}

func TestParseRating(t *testing.T) {
	for in, want := range map[string]Rating{
		"low": Low, "LOW": Low, "Medium": Medium, "moderate": Medium,
		"high": High, " critical ": Critical, "none": None,
	} {
		got, err := ParseRating(in)
		if err != nil || got != want {
			t.Errorf("ParseRating(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "unknown", "severe", "9.8"} {
		if got, err := ParseRating(in); err == nil {
			t.Errorf("ParseRating(%q) = %q, want error", in, got)
		}
	}
}

func TestAtLeast(t *testing.T) {
	order := []Rating{Unknown, None, Low, Medium, High, Critical}
	for i, r := range order {
		for j, o := range order {
			if got, want := r.AtLeast(o), i >= j; got != want {
				t.Errorf("%s.AtLeast(%s) = %v, want %v", r, o, got, want)
			}
		}
	}
	if Rating("bogus").AtLeast(Unknown) {
		t.Error("an invalid rating is at least Unknown")
	}
}

// readRecord reads one OSV record copied from the offline corpus.
func readRecord(t *testing.T, name string) *osv.Vulnerability {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := osv.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestForVulnerabilityCorpus(t *testing.T) {
	tests := []struct {
		file   string
		want   Score
		reason string
	}{
		{
			// Top-level CVSS_V2, CVSS_V3 (3.1) and CVSS_V4: v4 wins.
			file: "JLSEC-2025-133.json",
			// Every threat/environmental/supplemental metric is X, so
			// this is the base vector AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L,
			// the highest vector of macrovector 002201 (6.9).
			want: Score{Score: 6.9, Rating: Medium, Type: osv.SeverityCVSSv4,
				Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N/E:X/CR:X/IR:X/AR:X/MAV:X/MAC:X/MAT:X/MPR:X/MUI:X/MVC:X/MVI:X/MVA:X/MSC:X/MSI:X/MSA:X/S:X/AU:X/R:X/V:X/RE:X/U:X",
				Source: "severity[] CVSS:4.0 vector"},
		},
		{
			// Top-level CVSS_V2 and CVSS_V3: v3.1 wins.
			file: "JLSEC-2025-10.json",
			want: Score{Score: 6.5, Rating: Medium, Type: osv.SeverityCVSSv3,
				Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H",
				Source: "severity[] CVSS:3.1 vector"},
		},
		{
			// Only affected[].severity, plus database_specific.severity "Critical".
			file: "BIT-activemq-2020-11998.json",
			want: Score{Score: 9.8, Rating: Critical, Type: osv.SeverityCVSSv3,
				Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
				Source: "affected[0].severity[] CVSS:3.1 vector"},
		},
		{
			// Only affected[].severity with a CVSS_V2 vector.
			file: "HSEC-2023-0003.json",
			want: Score{Score: 7.5, Rating: High, Type: osv.SeverityCVSSv2,
				Vector: "AV:N/AC:L/Au:N/C:P/I:P/A:P",
				Source: "affected[0].severity[] CVSS:2.0 vector"},
		},
		{
			// No vector at all; database_specific.severity "MODERATE".
			file: "GHSA-334p-wv2m-w3vp.json",
			want: Score{Rating: Medium, Type: TypeDatabaseSpecific, Source: "database_specific.severity MODERATE"},
		},
		{
			// No vector and no database_specific.severity.
			file: "MAL-2025-2552.json",
			want: Score{Rating: Unknown},
		},
	}
	for _, tt := range tests {
		v := readRecord(t, tt.file)
		if tt.want.Known() {
			tt.want.Record, tt.want.Origin = v.ID, OriginRecord
		}
		if got := ForVulnerability(v); got != tt.want {
			t.Errorf("ForVulnerability(%s) = %+v\nwant %+v", tt.file, got, tt.want)
		}
	}
}

func TestForVulnerabilityPreference(t *testing.T) {
	// Constructed records, not from the corpus.
	v31 := osv.Severity{Type: osv.SeverityCVSSv3, Score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}
	v30 := osv.Severity{Type: osv.SeverityCVSSv3, Score: "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
	v2 := osv.Severity{Type: osv.SeverityCVSSv2, Score: "AV:N/AC:M/Au:N/C:N/I:N/A:P"}
	bad4 := osv.Severity{Type: osv.SeverityCVSSv4, Score: "CVSS:4.0/AV:N"}
	ubuntu := osv.Severity{Type: osv.SeverityUbuntu, Score: "high"}
	ds := json.RawMessage(`{"severity":"HIGH"}`)

	tests := []struct {
		name   string
		v      osv.Vulnerability
		vector string
		rating Rating
	}{
		{"v3.1 over v3.0 and v2", osv.Vulnerability{Severity: []osv.Severity{v2, v30, v31}}, v31.Score, High},
		{"v3.0 over v2", osv.Vulnerability{Severity: []osv.Severity{v2, v30}}, v30.Score, Critical},
		{"invalid v4 skipped", osv.Vulnerability{Severity: []osv.Severity{bad4, v2}}, v2.Score, Medium},
		{"affected v3.1 over top-level v2", osv.Vulnerability{
			Severity: []osv.Severity{v2},
			Affected: []osv.Affected{{Severity: []osv.Severity{v31}}},
		}, v31.Score, High},
		{"top-level first among equals", osv.Vulnerability{
			Severity: []osv.Severity{v30},
			Affected: []osv.Affected{{Severity: []osv.Severity{{Type: osv.SeverityCVSSv3, Score: "CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"}}}},
		}, v30.Score, Critical},
		{"vector beats database_specific", osv.Vulnerability{Severity: []osv.Severity{v2}, DatabaseSpecific: ds}, v2.Score, Medium},
		{"Ubuntu type ignored, database_specific used", osv.Vulnerability{Severity: []osv.Severity{ubuntu}, DatabaseSpecific: ds}, "", High},
		{"unknown database_specific word", osv.Vulnerability{DatabaseSpecific: json.RawMessage(`{"severity":"Unknown"}`)}, "", Unknown},
		{"non-string database_specific severity", osv.Vulnerability{DatabaseSpecific: json.RawMessage(`{"severity":7}`)}, "", Unknown},
	}
	for _, tt := range tests {
		got := ForVulnerability(&tt.v)
		if got.Vector != tt.vector || got.Rating != tt.rating {
			t.Errorf("%s: got %+v, want vector %q rating %s", tt.name, got, tt.vector, tt.rating)
		}
	}
}

func TestReportedScoreWithoutVector(t *testing.T) {
	v := &osv.Vulnerability{ID: "sonatype-2020-0001", DatabaseSpecific: []byte(`{"source":"OSSINDEX","cvssScore":7.5,"severity":"LOW"}`)}
	got := ForVulnerability(v)
	if got.Score != 7.5 || got.Rating != High || got.Type != TypeDatabaseSpecific {
		t.Fatalf("got %+v", got)
	}
	v.DatabaseSpecific = []byte(`{"cvssScore":0}`)
	if got := ForVulnerability(v); got.Rating != Unknown {
		t.Fatalf("zero score: %+v", got)
	}
}

func TestPick(t *testing.T) {
	cvss := func(score float64, rec, origin string) Score {
		return Score{Score: score, Rating: RatingFor(score, false), Type: osv.SeverityCVSSv3, Record: rec, Origin: origin}
	}
	word := func(r Rating, rec string) Score {
		return Score{Rating: r, Type: TypeDatabaseSpecific, Record: rec, Origin: OriginRecord}
	}
	unknown := Score{Rating: Unknown}
	tests := []struct {
		name  string
		tiers [][]Score
		want  Score
	}{
		{"nothing", nil, unknown},
		{"only unknown", [][]Score{{unknown}, {unknown}}, unknown},
		{"highest CVSS of the first tier", [][]Score{{cvss(5.0, "A", OriginRecord), cvss(7.5, "B", OriginRecord)}, {cvss(9.8, "C", OriginAlias)}}, cvss(7.5, "B", OriginRecord)},
		{"a later tier's CVSS beats a rating word", [][]Score{{word(High, "GHSA")}, {cvss(5.3, "BIT", OriginAlias)}}, cvss(5.3, "BIT", OriginAlias)},
		{"rating word when no tier has CVSS", [][]Score{{unknown, word(Medium, "A")}, {word(Critical, "B")}}, word(Medium, "A")},
		{"ties keep the first", [][]Score{{cvss(7.5, "A", OriginRecord), cvss(7.5, "B", OriginRecord)}}, cvss(7.5, "A", OriginRecord)},
		{"empty first tier", [][]Score{{}, {cvss(4.2, "N", OriginNVD)}}, cvss(4.2, "N", OriginNVD)},
	}
	for _, tt := range tests {
		if got := Pick(tt.tiers...); got != tt.want {
			t.Errorf("%s: Pick = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// The database_specific members are looked for only where encoding/json
// could find them: the answers are those of decoding every object.
func TestDatabaseSpecificSkipsObjectsWithoutTheMember(t *testing.T) {
	decodeScore := func(raw json.RawMessage) (float64, bool) {
		var ds struct {
			CVSSScore *float64 `json:"cvssScore"`
		}
		if len(raw) == 0 || json.Unmarshal(raw, &ds) != nil || ds.CVSSScore == nil || *ds.CVSSScore <= 0 || *ds.CVSSScore > 10 {
			return 0, false
		}
		return *ds.CVSSScore, true
	}
	decodeRating := func(raw json.RawMessage) (Rating, string, bool) {
		var ds struct {
			Severity any `json:"severity"`
		}
		if len(raw) == 0 || json.Unmarshal(raw, &ds) != nil {
			return "", "", false
		}
		word, ok := ds.Severity.(string)
		if !ok {
			return "", "", false
		}
		r, err := ParseRating(word)
		if err != nil {
			return "", "", false
		}
		return r, word, true
	}
	for _, raw := range []string{
		``, `{}`, `null`, `{"url":"https://example.com"}`, `{"cvssScore":7.5}`, `{"CVSSSCORE":7.5}`,
		`{"CvssScore":7.5,"severity":"HIGH"}`, `{"cvss\u0053core":7.5}`, `{"cvs\u017fscore":7.5}`, `{"cvsſscore":7.5}`,
		`{"severity":"moderate"}`, `{"SEVERITY":"Low"}`, `{"sever\u0069ty":"critical"}`, `{"ſeverity":"high"}`,
		`{"severity":"HIGH"`, `{"x":"cvssscore severity"}`, `{"severity":3}`, `{"nested":{"severity":"HIGH"}}`,
		`{"severity":"HIGH","severity":"bogus"}`, `{"cvssScore":"7.5"}`, `{"cvssScore":11}`,
	} {
		gs, gok := databaseSpecificScore(json.RawMessage(raw))
		ws, wok := decodeScore(json.RawMessage(raw))
		if gs != ws || gok != wok {
			t.Errorf("score of %s = %v, %v; decoding gives %v, %v", raw, gs, gok, ws, wok)
		}
		gr, gw, gok := databaseSpecificRating(json.RawMessage(raw))
		wr, ww, wok := decodeRating(json.RawMessage(raw))
		if gr != wr || gw != ww || gok != wok {
			t.Errorf("rating of %s = %v, %q, %v; decoding gives %v, %q, %v", raw, gr, gw, gok, wr, ww, wok)
		}
	}
}

// mayHoldName says no only for ASCII without escapes that holds no copy
// of the name in any letter case, wherever the copy, escape or non-ASCII
// byte stands.
func TestMayHoldName(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want bool
	}{
		{``, false}, {`{}`, false}, {`{"url":"https://example.com"}`, false},
		{`severity`, true}, {`{"severity":1}`, true}, {`{"SeVeRiTy":1}`, true}, {`{"x":"a severity"}`, true},
		{`{"x":1,"severit`, false}, {`severit`, false}, {`{"sever1ty":1}`, false}, {`{"SEVER@TY":1}`, false},
		{`{"severit\u0079":1}`, true}, {`{"x":1}\`, true}, {`\{"x":1}`, true},
		{`{"x":"é"}`, true}, {`{"severit` + "\xff", true}, {"\x80", true},
	} {
		if got := mayHoldName([]byte(c.raw), "severity"); got != c.want {
			t.Errorf("mayHoldName(%q, severity) = %v, want %v", c.raw, got, c.want)
		}
	}
}
