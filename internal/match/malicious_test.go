package match

import (
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/severity"
)

func TestIsMalicious(t *testing.T) {
	for _, c := range []struct {
		name string
		json string
		want bool
	}{
		{"MAL- ID", `{"id":"MAL-2024-10301","modified":"2024-10-31T23:17:47Z"}`, true},
		{"origins", `{"id":"GHSA-aaaa-bbbb-cccc","modified":"2024-10-31T23:17:47Z","database_specific":{"malicious-packages-origins":[{"source":"ghsa-malware"}]}}`, true},
		{"empty origins", `{"id":"GHSA-aaaa-bbbb-cccc","modified":"2024-10-31T23:17:47Z","database_specific":{"malicious-packages-origins":null}}`, false},
		{"GitHub cwe_ids", `{"id":"GHSA-aaaa-bbbb-cccc","modified":"2024-10-31T23:17:47Z","database_specific":{"cwe_ids":["CWE-79","CWE-506"]}}`, true},
		{"affected cwes", `{"id":"OSV-2024-1","modified":"2024-10-31T23:17:47Z","affected":[{"package":{"ecosystem":"npm","name":"x"},"database_specific":{"cwes":[{"cweId":"CWE-506","name":"Embedded Malicious Code"}]}}]}`, true},
		{"OSS Index cwe string", `{"id":"sonatype-2024-1","modified":"2024-10-31T23:17:47Z","database_specific":{"source":"OSSINDEX","cwe":"CWE-506"}}`, true},
		{"other CWE", `{"id":"GHSA-aaaa-bbbb-cccc","modified":"2024-10-31T23:17:47Z","database_specific":{"cwe_ids":["CWE-5060"]}}`, false},
		{"CWE-506 only in text", `{"id":"GHSA-aaaa-bbbb-cccc","modified":"2024-10-31T23:17:47Z","details":"see CWE-506","database_specific":{"severity":"HIGH"}}`, false},
		{"malformed database_specific", `{"id":"GHSA-aaaa-bbbb-cccc","modified":"2024-10-31T23:17:47Z","database_specific":{"cwe_ids":"CWE-506"}}`, false},
		{"ordinary", `{"id":"CVE-2021-44228","modified":"2024-10-31T23:17:47Z"}`, false},
	} {
		v, err := osv.Parse([]byte(c.json))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := IsMalicious(v); got != c.want {
			t.Errorf("%s: IsMalicious = %v, want %v", c.name, got, c.want)
		}
	}
	if IsMalicious(nil) {
		t.Error("IsMalicious(nil)")
	}
}

// TestMaliciousFinding checks that the flag reaches scored findings and
// names the malicious record even when another record of the group is the
// representative one.
func TestMaliciousFinding(t *testing.T) {
	mal := load(t, "MAL-2022-101")
	ghsa, err := osv.Parse([]byte(`{"id":"GHSA-c9hh-4f8g-99wh","modified":"2022-06-20T20:16:38Z","aliases":["MAL-2022-101"]}`))
	if err != nil {
		t.Fatal(err)
	}
	fs := Merge([]Hit{{Vuln: mal, Source: "OSV"}, {Vuln: ghsa, Source: "OSV"}})
	if len(fs) != 1 {
		t.Fatalf("findings = %d, want 1", len(fs))
	}
	s := score(fs[0], severity.ForVulnerability)
	if !s.Malicious || s.MaliciousID != "MAL-2022-101" || s.ID != "GHSA-c9hh-4f8g-99wh" {
		t.Errorf("scored = ID %s malicious %v (%s), want GHSA representative flagged by MAL-2022-101", s.ID, s.Malicious, s.MaliciousID)
	}
	if s := score(Merge([]Hit{{Vuln: ghsa}})[0], severity.ForVulnerability); s.Malicious {
		t.Error("a record without any malicious marker is flagged")
	}
}

// FuzzIsMalicious: any record the OSV parser accepts is classified
// without panicking, and a record whose ID starts with MAL- always is.
func FuzzIsMalicious(f *testing.F) {
	for _, s := range []string{
		`{"id":"MAL-2024-10301","modified":"2024-10-31T23:17:47Z"}`,
		`{"id":"GHSA-aaaa-bbbb-cccc","modified":"2024-10-31T23:17:47Z","database_specific":{"cwe_ids":["CWE-506"]}}`,
		`{"id":"X-1","modified":"2024-10-31T23:17:47Z","affected":[{"package":{"ecosystem":"npm","name":"x"},"database_specific":{"cwes":[{"cweId":"CWE-506"}]}}]}`,
		`{"id":"X-2","modified":"2024-10-31T23:17:47Z","database_specific":{"cwe":["CWE-506"],"malicious-packages-origins":[{}]}}`,
		`{"id":"X-3","modified":"2024-10-31T23:17:47Z","database_specific":{"cwe":{"a":"CWE-506"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := osv.Parse(b)
		if err != nil {
			return
		}
		got := IsMalicious(v)
		if strings.HasPrefix(v.ID, "MAL-") && !got {
			t.Fatalf("%s not classified malicious", v.ID)
		}
	})
}
