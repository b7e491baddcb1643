package assess

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/severity"
)

// TestDecideMalicious: known malware blocks whatever the CVSS rules, the
// policy and global or automatic assessments say; only an override in the
// decision's own scope lets it through.
func TestDecideMalicious(t *testing.T) {
	mal := Finding{ID: "GHSA-c9hh-4f8g-99wh", IDs: []string{"GHSA-c9hh-4f8g-99wh", "MAL-2022-101"}, Severity: severity.Score{Rating: severity.Unknown}, Malicious: "MAL-2022-101"}
	plain := Finding{ID: "CVE-2021-1", IDs: []string{"CVE-2021-1"}, Severity: cvss(3.0)}
	ignore := func(id, scope string, auto, override bool) Assessment {
		return Assessment{VulnID: id, Scope: scope, Type: Ignore, Effect: Allow, By: "alice", At: t0, Auto: auto, MalwareOverride: override}
	}
	cases := []struct {
		name  string
		scope string
		as    []Assessment
		want  Effect
		mal   bool
	}{
		{"unassessed, policy allow", "project:web", nil, Block, true},
		{"global Ignore", "project:web", []Assessment{ignore("MAL-2022-101", Global, false, true)}, Block, true},
		{"scoped Ignore without override mark", "project:web", []Assessment{ignore("MAL-2022-101", "project:web", false, false)}, Block, true},
		{"automatic override", "project:web", []Assessment{ignore("MAL-2022-101", "project:web", true, true)}, Block, true},
		{"override of another scope", "project:web", []Assessment{ignore("MAL-2022-101", "project:api", false, true)}, Block, true},
		{"override in scope, by alias", "project:web", []Assessment{ignore("GHSA-c9hh-4f8g-99wh", "project:web", false, true)}, Allow, false},
		{"override in a feed scope", "feed:npm", []Assessment{ignore("MAL-2022-101", "feed:npm", false, true)}, Allow, false},
		{"global scope never overrides", Global, []Assessment{ignore("MAL-2022-101", Global, false, true)}, Block, true},
	}
	for _, c := range cases {
		d := Decide("pkg:npm/x@1.0.0", []Finding{mal, plain}, NewIndex(c.scope, c.as), Allow, t0)
		if d.Effect != c.want || d.Findings[0].Malicious != c.mal {
			t.Errorf("%s: effect %s malicious %v, want %s %v (%s)", c.name, d.Effect, d.Findings[0].Malicious, c.want, c.mal, d.Message())
		}
		if c.mal && d.Message() != "block: GHSA-c9hh-4f8g-99wh (known malicious package MAL-2022-101)" {
			t.Errorf("%s: message %q", c.name, d.Message())
		}
	}
	if got := MaliciousBlocked([]Decision{Decide("p", []Finding{mal}, nil, Allow, t0)}); len(got) != 1 || got[0].Label() != LabelMalicious {
		t.Errorf("MaliciousBlocked = %+v", got)
	}
}

// TestMalwareOverride: the service lets an admin, and only an admin, let a
// known malicious package of the corpus through for one project, records
// it in the history, and refuses global overrides.
func TestMalwareOverride(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	const id = "MAL-2025-2552" // io.github.leetcrunch:scribejava-core, every version
	res := scan(t, s.Store(), "pkg:maven/io.github.leetcrunch/scribejava-core@8.3.3")
	f := findingWith(t, res[0], id)
	if !f.Malicious || f.MaliciousID != id {
		t.Fatalf("finding %s not flagged malicious", f.ID)
	}
	if mal, err := s.MaliciousRecord(ctx, id); err != nil || mal != id {
		t.Fatalf("MaliciousRecord = %q, %v", mal, err)
	}
	if mal, err := s.MaliciousRecord(ctx, "GHSA-599f-7c49-w659"); err != nil || mal != "" {
		t.Fatalf("MaliciousRecord of an ordinary advisory = %q, %v", mal, err)
	}
	decide := func(scope string) Effect {
		t.Helper()
		ds, err := s.Evaluate(ctx, scope, res)
		if err != nil {
			t.Fatal(err)
		}
		return ds[0].Effect
	}
	if err := s.SetPolicy(ctx, Global, Allow, "admin"); err != nil {
		t.Fatal(err)
	}
	if e := decide(Global); e != Block {
		t.Fatalf("unassessed malware with policy allow: %s", e)
	}

	_, err := s.Set(ctx, SetRequest{VulnID: id, Scope: "project:web", Type: Ignore, By: "bob"})
	if !errors.Is(err, ErrForbidden) || !errors.Is(err, ErrMalwareOverride) || !strings.Contains(err.Error(), "only an admin") {
		t.Fatalf("override by a non-admin: %v", err)
	}
	_, err = s.Set(ctx, SetRequest{VulnID: id, Type: Ignore, By: "admin", Admin: true})
	if !errors.Is(err, ErrMalwareOverride) || errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "not global") {
		t.Fatalf("global override: %v", err)
	}
	// Blocking it needs no override and changes nothing.
	if a, err := s.Set(ctx, SetRequest{VulnID: id, Type: Blocked, By: "bob"}); err != nil || a.MalwareOverride {
		t.Fatalf("Blocked by a non-admin: %+v, %v", a, err)
	}
	if _, err := s.RecordScan(ctx, "project:web", res); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetBulk(ctx, BulkFilter{Ecosystem: "Maven"}, SetRequest{Scope: "project:web", Type: Ignore, By: "bob"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("bulk override by a non-admin: %v", err)
	}

	a, err := s.Set(ctx, SetRequest{VulnID: id, Scope: "project:web", Type: Ignore, By: "admin", Admin: true, Comment: "reviewed: false positive"})
	if err != nil || !a.MalwareOverride {
		t.Fatalf("admin override: %+v, %v", a, err)
	}
	if e := decide("project:web"); e != Allow {
		t.Errorf("project:web after the override: %s, want allow", e)
	}
	for _, sc := range []string{Global, "project:api", "feed:npm"} {
		if e := decide(sc); e != Block {
			t.Errorf("%s after project:web's override: %s, want block", sc, e)
		}
	}
	h, err := s.History(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	last := h[len(h)-1]
	if last.Actor != "admin" || !last.Assessment.MalwareOverride || last.Assessment.Scope != "project:web" {
		t.Errorf("history does not record the override: %+v", last)
	}
}
