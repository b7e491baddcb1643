package vex

import (
	"bytes"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// has a vulnerability ID and a type on every assessment.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"exploitable","response":["workaround_available"]},"properties":[{"name":"vulngate:assessment:expires","value":"2026-01-01T00:00:00Z"}]}]}`))
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"status":"not_affected","status_notes":"vulngate:type=Ignore&scope=project%3Aci&expires=2026-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"status":"under_investigation"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, as, _, err := Parse(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		for _, a := range as {
			if a.VulnID == "" || a.Type == "" {
				t.Fatalf("accepted an assessment without ID or type: %+v", a)
			}
		}
	})
}
