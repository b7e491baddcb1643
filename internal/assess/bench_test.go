package assess

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkDecide measures a download-gate decision: a package with 20
// findings against 10,000 assessments.
func BenchmarkDecide(b *testing.B) {
	var as []Assessment
	for i := range 10000 {
		as = append(as, Assessment{VulnID: fmt.Sprintf("CVE-2024-%d", i), Scope: Global, Type: Ignore, Effect: Allow, At: t0, Expires: t0.Add(time.Hour)})
	}
	idx := NewIndex("feed:npm", as)
	var fs []Finding
	for i := range 20 {
		fs = append(fs, Finding{ID: fmt.Sprintf("GHSA-%d", i), IDs: []string{fmt.Sprintf("CVE-2024-%d", i*7), fmt.Sprintf("GHSA-%d", i)}, Severity: cvss(5)})
	}
	b.ResetTimer()
	for b.Loop() {
		if d := Decide("pkg:npm/x@1", fs, idx, Block, t0); d.Effect != Allow {
			b.Fatal(d.Message())
		}
	}
}
