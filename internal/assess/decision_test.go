package assess

import (
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/severity"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func defaultTypes() []Type {
	return []Type{
		{Name: Ignore, Effect: Allow, Builtin: true, Auto: &Range{1, 39}, Expiry: 90 * 24 * time.Hour},
		{Name: Caution, Effect: Warn, Builtin: true, Auto: &Range{70, 89}, Expiry: 30 * 24 * time.Hour},
		{Name: Blocked, Effect: Block, Builtin: true, Auto: &Range{90, 100}, Expiry: 30 * 24 * time.Hour},
	}
}

func cvss(score float64) severity.Score {
	return severity.Score{Score: score, Rating: severity.RatingFor(score, false), Type: "CVSS_V3"}
}

func TestAutoTypeBoundaries(t *testing.T) {
	types := defaultTypes()
	cases := []struct {
		sev  severity.Score
		want string // "" = unassessed
	}{
		{cvss(0.0), ""},
		{cvss(0.1), Ignore},
		{cvss(3.9), Ignore},
		{cvss(4.0), ""},
		{cvss(6.9), ""},
		{cvss(7.0), Caution},
		{cvss(8.9), Caution},
		{cvss(9.0), Blocked},
		{cvss(10.0), Blocked},
		{cvss(3.94), Ignore},  // rounds to 3.9
		{cvss(3.96), ""},      // rounds to 4.0
		{cvss(8.95), Blocked}, // rounds to 9.0
		{severity.Score{Rating: severity.Critical, Type: severity.TypeDatabaseSpecific}, ""}, // rating word, no score
		{severity.Score{Rating: severity.Unknown}, ""},                                       // missing score
	}
	for _, c := range cases {
		got, ok := AutoType(types, c.sev)
		if (c.want == "") == ok || (ok && got.Name != c.want) {
			t.Errorf("score %v (%s): got %q ok=%v, want %q", c.sev.Score, c.sev.Type, got.Name, ok, c.want)
		}
	}
}

func TestParseRange(t *testing.T) {
	good := map[string]Range{"7.0-8.9": {70, 89}, "0.1 - 3.9": {1, 39}, "9-10": {90, 100}, "4.0..4.0": {40, 40}, "7.0–8.9": {70, 89}}
	for in, want := range good {
		got, err := ParseRange(in)
		if err != nil || got != want {
			t.Errorf("ParseRange(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"8.9-7.0":  "minimum is above maximum",
		"9.0-10.1": "outside 0.0-10.0",
		"11-12":    "outside 0.0-10.0",
		"3.95-4":   "at most one decimal",
		"high":     "want MIN-MAX",
		"-1-3":     "want MIN-MAX",
		"":         "want MIN-MAX",
	}
	for in, want := range bad {
		if _, err := ParseRange(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRange(%q) err = %v, want %q", in, err, want)
		}
	}
}

func TestValidateTypesOverlap(t *testing.T) {
	types := append(defaultTypes(), Type{Name: "Critical Review", Effect: Warn, Auto: &Range{85, 90}})
	err := ValidateTypes(types)
	if err == nil {
		t.Fatal("overlap not reported")
	}
	for _, want := range []string{"Caution (7.0-8.9)", "Critical Review (8.5-9.0)", "Blocked (9.0-10.0)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	// Adjacent ranges do not overlap; 4.0-6.9 fills the gap exactly.
	if err := ValidateTypes(append(defaultTypes(), Type{Name: "Review", Effect: Warn, Auto: &Range{40, 69}})); err != nil {
		t.Errorf("adjacent ranges: %v", err)
	}
	if err := ValidateTypes([]Type{{Name: "x", Effect: "deny"}}); err == nil || !strings.Contains(err.Error(), "unknown effect") {
		t.Errorf("bad effect: %v", err)
	}
	if err := ValidateTypes([]Type{{Name: "x", Effect: Allow, Auto: &Range{50, 40}}}); err == nil || !strings.Contains(err.Error(), "minimum is above maximum") {
		t.Errorf("inverted range: %v", err)
	}
}

func TestDecisionTable(t *testing.T) {
	blockedCVE := Assessment{VulnID: "CVE-1", Scope: Global, Type: Blocked, Effect: Block, At: t0}
	ignoredGHSA := Assessment{VulnID: "GHSA-2", Scope: Global, Type: Ignore, Effect: Allow, At: t0}
	cautionProject := Assessment{VulnID: "GHSA-3", Scope: "project:app", Type: Caution, Effect: Warn, At: t0}
	ignoreProject := Assessment{VulnID: "CVE-1", Scope: "project:app", Type: Ignore, Effect: Allow, At: t0.Add(-time.Hour)}
	expired := Assessment{VulnID: "GHSA-4", Scope: Global, Type: Ignore, Effect: Allow, At: t0.Add(-100 * 24 * time.Hour), Expires: t0}
	all := []Assessment{blockedCVE, ignoredGHSA, cautionProject, ignoreProject, expired}

	f1 := Finding{ID: "GHSA-1", IDs: []string{"CVE-1", "GHSA-1"}, Severity: cvss(9.8)}
	f2 := Finding{ID: "GHSA-2", IDs: []string{"GHSA-2"}, Severity: cvss(2.0)}
	f3 := Finding{ID: "GHSA-3", IDs: []string{"GHSA-3"}, Severity: cvss(7.5)}
	f4 := Finding{ID: "GHSA-4", IDs: []string{"GHSA-4"}, Severity: cvss(5.0)}

	cases := []struct {
		name     string
		scope    string
		findings []Finding
		policy   Effect
		want     Effect
		reasons  string
	}{
		{"no findings", Global, nil, Block, Allow, "allow"},
		{"assessed CVE blocks its GHSA", Global, []Finding{f1}, Warn, Block, "block: GHSA-1 (Blocked as CVE-1)"},
		{"ignored never counts", Global, []Finding{f2}, Block, Allow, "allow"},
		{"project scope overrides global, even if older", "project:app", []Finding{f1, f2}, Warn, Allow, "allow"},
		{"project caution invisible globally", Global, []Finding{f3}, Allow, Allow, "allow"},
		{"project caution", "project:app", []Finding{f3}, Allow, Warn, "warn: GHSA-3 (Caution)"},
		{"expired returns to unassessed: policy warn", Global, []Finding{f4}, Warn, Warn, "warn: GHSA-4 (Unassessed, policy warn)"},
		{"expired returns to unassessed: policy block", Global, []Finding{f4, f2}, Block, Block, "block: GHSA-4 (Unassessed, policy block)"},
		{"unassessed with policy allow", Global, []Finding{f4}, Allow, Allow, "allow"},
		{"block beats warn; only blocks are reasons", "project:app", []Finding{f3, f4, f1}, Block, Block, "block: GHSA-4 (Unassessed, policy block)"},
		{"default policy is warn", Global, []Finding{f4}, "", Warn, "warn: GHSA-4 (Unassessed, policy warn)"},
	}
	for _, c := range cases {
		d := Decide("pkg:maven/a/b@1", c.findings, NewIndex(c.scope, all), c.policy, t0)
		if d.Effect != c.want || d.Message() != c.reasons {
			t.Errorf("%s: got %s %q, want %s %q", c.name, d.Effect, d.Message(), c.want, c.reasons)
		}
		if len(d.Findings) != len(c.findings) {
			t.Errorf("%s: %d verdicts for %d findings", c.name, len(d.Findings), len(c.findings))
		}
	}
	// Expiry is exact: one nanosecond before, the assessment still applies.
	d := Decide("p", []Finding{f4}, NewIndex(Global, all), Block, t0.Add(-time.Nanosecond))
	if d.Effect != Allow {
		t.Errorf("before expiry: %s", d.Message())
	}
}

func TestParseScopeAndDuration(t *testing.T) {
	for in, want := range map[string]string{"": Global, "GLOBAL": Global, "project:ci": "project:ci", "Feed:npm-main": "feed:npm-main"} {
		if got, err := ParseScope(in); err != nil || got != want {
			t.Errorf("ParseScope(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"team:x", "project:", "project:a b", "feed:../x"} {
		if _, err := ParseScope(in); err == nil {
			t.Errorf("ParseScope(%q) accepted", in)
		}
	}
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "12h": 12 * time.Hour, "never": 0, "1h30m": 90 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"-5d", "soon", "5y"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}

// TestPersonBeatsAutoAssessment: an auto-assessment recorded in a feed's
// or project's scope never overrides what a person decided globally; a
// person's scoped assessment still beats their global one.
func TestPersonBeatsAutoAssessment(t *testing.T) {
	f := Finding{ID: "GHSA-whgm-jr23-g3j9", IDs: []string{"CVE-2021-23424", "GHSA-whgm-jr23-g3j9"}, Severity: cvss(7.5)}
	autoCaution := Assessment{VulnID: f.ID, Scope: "feed:npm", Type: Caution, Effect: Warn, By: ActorAuto, At: t0, Auto: true}
	globalBlocked := Assessment{VulnID: "CVE-2021-23424", Scope: Global, Type: Blocked, Effect: Block, By: "alice", At: t0.Add(-time.Hour)}
	scopedIgnore := Assessment{VulnID: f.ID, Scope: "feed:npm", Type: Ignore, Effect: Allow, By: "bob", At: t0.Add(-2 * time.Hour)}
	for _, c := range []struct {
		as   []Assessment
		want Effect
	}{
		{[]Assessment{autoCaution}, Warn},
		{[]Assessment{autoCaution, globalBlocked}, Block},
		{[]Assessment{autoCaution, globalBlocked, scopedIgnore}, Allow},
	} {
		if d := Decide("pkg:npm/ansi-html@0.0.7", []Finding{f}, NewIndex("feed:npm", c.as), Warn, t0); d.Effect != c.want {
			t.Errorf("%d assessments: %s, want %s", len(c.as), d.Message(), c.want)
		}
	}
}
