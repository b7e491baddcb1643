package feed

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/purl"
)

func TestIsPrerelease(t *testing.T) {
	for _, c := range []struct {
		eco, v string
		want   bool
	}{
		{"npm", "1.0.0", false}, {"npm", "1.0.0-rc.1", true}, {"npm", "1.0.0+build", false},
		{"Go", "v1.9.0", false}, {"Go", "v1.9.0-rc.1", true}, {"Go", "v2.0.0+incompatible", false},
		{"NuGet", "3.15.0", false}, {"NuGet", "3.15.0-rc1", true},
		{"PyPI", "2.11.3", false}, {"PyPI", "3.0.0a1", true}, {"PyPI", "3.0.0rc2", true}, {"PyPI", "1.0.dev0", true},
		{"PyPI", "1.0.post1", false}, {"PyPI", "2.2", false},
		{"Maven", "4.13.1", false}, {"Maven", "4.13-beta-1", true}, {"Maven", "5.0.0-M1", true}, {"Maven", "1.0-SNAPSHOT", true},
		{"Maven", "3.0-rc1", true}, {"Maven", "5.3.0.RELEASE", false}, {"Maven", "2.0.Final", false},
	} {
		if got := IsPrerelease(c.eco, c.v); got != c.want {
			t.Errorf("IsPrerelease(%s, %s) = %v, want %v", c.eco, c.v, got, c.want)
		}
	}
}

func blockedDecision(advice *Advice, ids ...string) *Decision {
	d := &Decision{Feed: "npm", Pkg: purl.Package{Ecosystem: "npm", Name: "ansi-html", Version: "0.0.7"}, Details: map[string]match.Scored{}, Upgrade: advice}
	d.Effect = assess.Block
	for _, id := range ids {
		v := assess.Verdict{Finding: &assess.Finding{ID: id, IDs: []string{id, "GHSA-" + id}}, Effect: assess.Block, Assessment: &assess.Assessment{Type: "Blocked"}}
		d.Reasons = append(d.Reasons, v)
		d.Details[id] = match.Scored{Summary: strings.Repeat("a long summary of what goes wrong ", 4)}
	}
	return d
}

func TestMessagesWithAdvice(t *testing.T) {
	up := &Advice{Upgrade: match.Upgrade{Version: "0.0.8", Step: "patch", Fixes: 1, From: "published"}}
	d := blockedDecision(up, "CVE-2021-23424")
	if got, want := ShortMessage(d), "vulngate blocked ansi-html 0.0.7 (feed npm): CVE-2021-23424 Blocked; upgrade to 0.0.8 (patch) or have it reassessed in vulngate"; got != want {
		t.Errorf("short:\n got %q\nwant %q", got, want)
	}
	// Nothing fixes it: said once, naming what the message named.
	none := &Advice{Upgrade: match.Upgrade{Unfixed: []string{"CVE-2021-23424"}, From: "published"}}
	if got, want := ShortMessage(blockedDecision(none, "CVE-2021-23424")), "vulngate blocked ansi-html 0.0.7 (feed npm): CVE-2021-23424 Blocked; no published version fixes it; to use it, have it reassessed in vulngate"; got != want {
		t.Errorf("short, no fix:\n got %q\nwant %q", got, want)
	}
	refused := &Advice{Upgrade: match.Upgrade{Unfixed: []string{"CVE-1", "CVE-2", "CVE-3"}, Refused: 2, From: "published"}}
	if got := refused.Short(); got != "no published version free of findings fixes CVE-1, CVE-2 +1 more" {
		t.Errorf("short, fixes refused: %q", got)
	}
	partial := &Advice{Upgrade: match.Upgrade{Version: "2.0.0", Step: "major", Unfixed: []string{"OSSINDEX-1"}, From: "advisories"}, NeedsApproval: true}
	if got := partial.Short(); got != "fixed in 2.0.0 (major, once approved); no known version fixes OSSINDEX-1" {
		t.Errorf("short, partial: %q", got)
	}
	served := &Advice{Upgrade: match.Upgrade{Version: "2.12.0", Step: "minor", Fixes: 2, From: "published"}, Served: "2.11.3", ServedStep: "patch"}
	if got, want := ShortMessage(blockedDecision(served, "CVE-2021-23424")), "vulngate blocked ansi-html 0.0.7 (feed npm): CVE-2021-23424 Blocked; upgrade to 2.12.0 (minor), or 2.11.3 (patch) with warnings or have it reassessed in vulngate"; got != want {
		t.Errorf("short, served with warnings:\n got %q\nwant %q", got, want)
	}
	if got, want := served.Lines(), []string{"Upgrade to 2.12.0 (minor step): the nearest version published by the upstream without known vulnerabilities.",
		"2.11.3 (patch step) is the lowest version above it that the feed serves, with warnings."}; !slices.Equal(got, want) {
		t.Errorf("lines, served with warnings: %q", got)
	}
	onlyServed := &Advice{Upgrade: match.Upgrade{Unfixed: []string{"CVE-2021-23424"}, Refused: 1, From: "published"}, Served: "0.0.9", ServedStep: "patch"}
	if got, want := ShortMessage(blockedDecision(onlyServed, "CVE-2021-23424")), "vulngate blocked ansi-html 0.0.7 (feed npm): CVE-2021-23424 Blocked; upgrade to 0.0.9 (patch) with warnings; no published version free of findings fixes it; to use it, have it reassessed in vulngate"; got != want {
		t.Errorf("short, only served:\n got %q\nwant %q", got, want)
	}
	if got := up.Long(); got != "Upgrade to 0.0.8 (patch step): the nearest version published by the upstream without known vulnerabilities." {
		t.Errorf("long: %q", got)
	}
	// Many findings: the one-line message names fewer of them, never
	// dropping the advice; the text body keeps within what the go
	// command prints (8 lines, 648 bytes counting 2 per line break).
	var ids []string
	for i := range 9 {
		ids = append(ids, fmt.Sprintf("CVE-2024-1000%d", i))
	}
	many := blockedDecision(up, ids...)
	short := ShortMessage(many)
	if len(short) > maxShort || !strings.Contains(short, "; upgrade to 0.0.8 (patch) or have it reassessed in vulngate") || !strings.Contains(short, "more") {
		t.Errorf("short with many findings (%d): %q", len(short), short)
	}
	long := LongMessage(many)
	lines := strings.Split(strings.TrimSuffix(long, "\n"), "\n")
	size := 0
	for _, l := range lines {
		size += len(l) + 2
	}
	if len(lines) > goBodyLines || size > 648 {
		t.Errorf("long message has %d lines, %d bytes:\n%s", len(lines), size, long)
	}
	if lines[1] != up.Long() || !strings.Contains(long, "... and ") || lines[len(lines)-1] != "or upgrade as advised above." {
		t.Errorf("long message lacks the advice, the count of findings left out or the closing line:\n%s", long)
	}
}
