package match

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/vulngate/vulngate/internal/osv"
)

// RatingMalicious is the severity category of known malicious packages,
// shown above CRITICAL whatever their CVSS score.
const RatingMalicious = "MALICIOUS"

// CWEMalicious is "Embedded Malicious Code".
const CWEMalicious = "CWE-506"

// IsMalicious reports whether a record reports a malicious package rather
// than a vulnerability: its ID starts with "MAL-" (the OpenSSF
// malicious-packages data as OSV publishes it), its database_specific
// carries "malicious-packages-origins", or one of its CWEs is CWE-506.
// CWEs are read where the databases put them: database_specific
// "cwe_ids" (GitHub), "cwes" (objects with "cweId"), "cwe" (a string, as
// OSS Index answers are stored), at the top level and in each affected
// entry.
func IsMalicious(v *osv.Vulnerability) bool {
	if v == nil {
		return false
	}
	if strings.HasPrefix(v.ID, "MAL-") {
		return true
	}
	if maliciousSpecific(v.DatabaseSpecific, true) {
		return true
	}
	for _, a := range v.Affected {
		if maliciousSpecific(a.DatabaseSpecific, false) {
			return true
		}
	}
	return false
}

// maliciousSpecific inspects one database_specific object. Most records
// carry neither marker, so the bytes are searched before anything is
// decoded.
func maliciousSpecific(raw json.RawMessage, top bool) bool {
	if len(raw) == 0 {
		return false
	}
	origins := top && bytes.Contains(raw, []byte(`"malicious-packages-origins"`))
	if !origins && !bytes.Contains(raw, []byte(CWEMalicious)) {
		return false
	}
	var ds struct {
		Origins json.RawMessage `json:"malicious-packages-origins"`
		CWEIDs  []string        `json:"cwe_ids"`
		CWEs    []struct {
			ID string `json:"cweId"`
		} `json:"cwes"`
		CWE json.RawMessage `json:"cwe"`
	}
	if json.Unmarshal(raw, &ds) != nil {
		return false
	}
	if origins && len(ds.Origins) > 0 && string(ds.Origins) != "null" {
		return true
	}
	for _, c := range ds.CWEIDs {
		if isCWE506(c) {
			return true
		}
	}
	for _, c := range ds.CWEs {
		if isCWE506(c.ID) {
			return true
		}
	}
	var one string
	if json.Unmarshal(ds.CWE, &one) == nil && isCWE506(one) {
		return true
	}
	var many []string
	if json.Unmarshal(ds.CWE, &many) == nil {
		for _, c := range many {
			if isCWE506(c) {
				return true
			}
		}
	}
	return false
}

func isCWE506(s string) bool { return strings.EqualFold(strings.TrimSpace(s), CWEMalicious) }

// MaliciousRecord returns the ID of the first of a finding's records that
// reports a malicious package (see [IsMalicious]), "" when none does.
func MaliciousRecord(f Finding) string {
	for _, v := range f.Records {
		if IsMalicious(v) {
			return v.ID
		}
	}
	return ""
}
