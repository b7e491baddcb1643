package ossindex

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/severity"
)

// componentReport is one element of the component-report response. Fields
// not listed are ignored.
type componentReport struct {
	Coordinates     string          `json:"coordinates"`
	Description     string          `json:"description"`
	Reference       string          `json:"reference"`
	Vulnerabilities []vulnerability `json:"vulnerabilities"`
}

// vulnerability is one entry of a component report's vulnerabilities.
// Sonatype Guide answers may lack versionRanges.
type vulnerability struct {
	ID                 string   `json:"id"`
	DisplayName        string   `json:"displayName"`
	Title              string   `json:"title"`
	Description        string   `json:"description"`
	CVSSScore          *float64 `json:"cvssScore"`
	CVSSVector         string   `json:"cvssVector"`
	CVE                string   `json:"cve"`
	CWE                string   `json:"cwe"`
	Reference          string   `json:"reference"`
	ExternalReferences []string `json:"externalReferences"`
	VersionRanges      []string `json:"versionRanges"`
}

// databaseSpecific is what an OSS Index record keeps in the OSV
// database_specific object.
type databaseSpecific struct {
	Source        string   `json:"source"`
	OSSIndexID    string   `json:"ossindex_id,omitempty"`
	CWE           string   `json:"cwe,omitempty"`
	CVSSScore     *float64 `json:"cvssScore,omitempty"`
	CVSSVector    string   `json:"cvssVector,omitempty"`
	VersionRanges []string `json:"versionRanges,omitempty"`
	// Severity is the rating of the reported cvssScore, set only when the
	// record has no usable vector, so that severity.ForVulnerability
	// still rates it.
	Severity string `json:"severity,omitempty"`
}

// recordID returns the ID an OSS Index vulnerability is stored under: its
// display name (CVE IDs as is, Sonatype's own IDs with their "sonatype-"
// prefix), else its id.
func (v *vulnerability) recordID() string {
	if id := strings.TrimSpace(v.DisplayName); id != "" {
		return id
	}
	return strings.TrimSpace(v.ID)
}

// toOSV converts an OSS Index vulnerability into an OSV record. Modified
// is the time it was fetched (OSS Index reports no timestamps). The record
// has no affected[] entries: OSS Index answers for one component version,
// and the answer itself says that version is affected.
func (v *vulnerability) toOSV(fetched time.Time) *osv.Vulnerability {
	r := &osv.Vulnerability{
		SchemaVersion: "1.6.0",
		ID:            v.recordID(),
		Modified:      osv.Time{Time: fetched.UTC().Truncate(time.Second)},
		Summary:       strings.TrimSpace(v.Title),
		Details:       strings.TrimSpace(v.Description),
	}
	addAlias := func(id string) {
		id = strings.TrimSpace(id)
		if id == "" || id == r.ID {
			return
		}
		for _, a := range r.Aliases {
			if a == id {
				return
			}
		}
		r.Aliases = append(r.Aliases, id)
	}
	addAlias(v.CVE)
	// OSS Index ids are CVE or sonatype- IDs today; older answers used
	// opaque UUIDs, which are no use as aliases.
	if id := strings.TrimSpace(v.ID); strings.HasPrefix(id, "CVE-") || strings.HasPrefix(id, "sonatype-") || strings.HasPrefix(id, "GHSA-") {
		addAlias(id)
	}

	ds := databaseSpecific{
		Source:        "OSSINDEX",
		CWE:           strings.TrimSpace(v.CWE),
		CVSSScore:     v.CVSSScore,
		CVSSVector:    strings.TrimSpace(v.CVSSVector),
		VersionRanges: v.VersionRanges,
	}
	if id := strings.TrimSpace(v.ID); id != r.ID {
		ds.OSSIndexID = id
	}
	if typ, vec, ok := vectorSeverity(ds.CVSSVector); ok {
		r.Severity = []osv.Severity{{Type: typ, Score: vec}}
	} else if v.CVSSScore != nil {
		rating := severity.RatingFor(*v.CVSSScore, false)
		if rating != severity.Unknown {
			ds.Severity = string(rating)
		}
	}
	r.DatabaseSpecific, _ = json.Marshal(ds)

	seen := map[string]bool{}
	addRef := func(typ, u string) {
		u = strings.TrimSpace(u)
		if u == "" || seen[u] {
			return
		}
		seen[u] = true
		r.References = append(r.References, osv.Reference{Type: typ, URL: u})
	}
	addRef("ADVISORY", v.Reference)
	for _, u := range v.ExternalReferences {
		addRef("WEB", u)
	}
	return r
}

// vectorSeverity returns the OSV severity type and vector for an OSS Index
// cvssVector when internal/severity can score it: "CVSS:4.0/..." is
// CVSS_V4, "CVSS:3.x/..." CVSS_V3, and a bare "AV:.../Au:..." vector (as
// OSS Index writes v2 vectors) CVSS_V2. The score used for the finding is
// then recomputed from the vector, not taken from cvssScore.
func vectorSeverity(vector string) (typ, vec string, ok bool) {
	switch {
	case vector == "":
		return "", "", false
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		typ = osv.SeverityCVSSv4
	case strings.HasPrefix(vector, "CVSS:3."):
		typ = osv.SeverityCVSSv3
	case strings.HasPrefix(vector, "CVSS:2.0/"):
		typ, vector = osv.SeverityCVSSv2, strings.TrimPrefix(vector, "CVSS:2.0/")
	case strings.Contains(vector, "Au:"):
		typ = osv.SeverityCVSSv2
	default:
		return "", "", false
	}
	if _, err := severity.FromVector(typ, vector); err != nil {
		return "", "", false
	}
	return typ, vector, true
}

// marshalRecord encodes a converted record for the cache.
func marshalRecord(v *osv.Vulnerability) ([]byte, error) {
	return json.Marshal(v)
}
