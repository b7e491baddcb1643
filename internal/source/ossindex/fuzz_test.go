package ossindex

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
)

// FuzzReport feeds arbitrary component-report bodies through decoding and
// conversion: nothing may panic, and every converted record must be a
// valid OSV record that survives the cache's JSON round trip.
func FuzzReport(f *testing.F) {
	f.Add(`[{"coordinates":"pkg:npm/lodash@4.17.20","vulnerabilities":[{"id":"CVE-2021-23337","displayName":"CVE-2021-23337","cvssScore":7.2,"cvssVector":"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H","cve":"CVE-2021-23337","externalReferences":["https://example.invalid/x"]}]}]`)
	f.Add(`[{"coordinates":"pkg:maven/a/b@1","vulnerabilities":[{"id":"sonatype-2020-1","displayName":"","cvssScore":99,"cvssVector":"AV:N/AC:L/Au:N/C:P/I:P/A:P"}]}]`)
	f.Add(`[{"vulnerabilities":[{"displayName":"x","cvssVector":"CVSS:4.0/AV:N"}]}]`)
	f.Fuzz(func(t *testing.T, body string) {
		var reports []componentReport
		if json.Unmarshal([]byte(body), &reports) != nil {
			return
		}
		now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, r := range reports {
			_ = matchKey(r.Coordinates)
			for _, v := range r.Vulnerabilities {
				rec := v.toOSV(now)
				if rec.ID == "" {
					continue
				}
				data, err := marshalRecord(rec)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := osv.Parse(data); err != nil {
					t.Fatalf("converted record does not parse: %v\n%s", err, data)
				}
			}
		}
	})
}

// FuzzCoordinate: any PURL purl.Parse accepts either maps to a coordinate
// without qualifiers or subpath, or gets an error.
func FuzzCoordinate(f *testing.F) {
	for _, s := range []string{"pkg:npm/%40angular/core@v12.0.1?a=b#c", "pkg:golang/github.com/a/b@v1.0.0+incompatible", "pkg:maven/g/a@1?type=jar", "pkg:deb/debian/x@1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := purl.Parse(s)
		if err != nil {
			return
		}
		c, err := Coordinate(p)
		if err != nil {
			return
		}
		if len(c) < 5 || c[:4] != "pkg:" {
			t.Fatalf("coordinate %q", c)
		}
		for _, r := range c {
			if r == '?' || r == '#' {
				t.Fatalf("coordinate %q of %q is not minimal", c, s)
			}
		}
	})
}
