// Package severity implements base scores and qualitative ratings for OSV
// records: it computes CVSS v2.0, v3.0, v3.1 and v4.0 base scores from the
// vectors in an OSV record's severity lists and maps scores to the rating
// bands published with each CVSS version. When a record carries no usable
// vector it falls back to the free-text severity some databases put in the
// record's top-level database_specific object (for example "HIGH" or
// "MODERATE").
//
// It leaves out temporal, threat and environmental scores (only base
// metrics are scored), the "Ubuntu" severity type and other non-CVSS
// schemes, and any policy about which rating should fail a build; callers
// compare ratings with [Rating.AtLeast].
package severity

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"

	"github.com/vulngate/vulngate/internal/osv"
)

// Rating is a qualitative severity rating.
type Rating string

// Ratings, from least to most severe. Unknown means no score or rating
// could be determined.
const (
	None     Rating = "NONE"
	Low      Rating = "LOW"
	Medium   Rating = "MEDIUM"
	High     Rating = "HIGH"
	Critical Rating = "CRITICAL"
	Unknown  Rating = "UNKNOWN"
)

// TypeDatabaseSpecific is the Score.Type of a rating taken from a record's
// database_specific.severity field.
const TypeDatabaseSpecific = "database_specific"

// Score is the severity vulngate assigns to one record.
type Score struct {
	Score  float64 // base score; 0 when unknown or not numeric
	Rating Rating
	Type   string // osv.SeverityCVSSv2/v3/v4, TypeDatabaseSpecific, or "" when unknown
	Vector string // the vector scored, "" when none
	Source string // human-readable origin, e.g. "severity[] CVSS:3.1 vector"
	// Record is the ID of the record the score was read from (an OSV
	// record, or a CVE ID for an NVD record); "" when unknown.
	Record string
	// Origin says how that record relates to what was scored:
	// OriginRecord (the record itself, or one of a finding's matched
	// records), OriginAlias (another mirrored record of the alias group)
	// or OriginNVD (the NVD record of a CVE ID of the group).
	Origin string
}

// Origins of a score (Score.Origin).
const (
	OriginRecord = "record"
	OriginAlias  = "alias"
	OriginNVD    = "nvd"
)

// HasCVSS reports whether the score is a CVSS base score computed from a
// vector (a rating word or a score reported without a vector is not).
func (s Score) HasCVSS() bool {
	switch s.Type {
	case osv.SeverityCVSSv2, osv.SeverityCVSSv3, osv.SeverityCVSSv4:
		return !math.IsNaN(s.Score)
	}
	return false
}

// Known reports whether the score carries a rating other than Unknown.
func (s Score) Known() bool { return s.Rating != "" && s.Rating != Unknown }

// Better reports whether a is more severe than b: a higher base score,
// or the same score with a higher rating.
func Better(a, b Score) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.Rating.AtLeast(b.Rating) && a.Rating != b.Rating
}

// Pick chooses one severity among candidates grouped in tiers of
// decreasing authority (for a finding: its matched records, then the other
// mirrored records of its alias group, then NVD). The highest CVSS score
// of the first tier that has one wins; without any CVSS score, the highest
// other known rating of the first tier that has one (a database's own
// rating word or a score reported without a vector); else Unknown. Ties
// keep the earlier candidate.
func Pick(tiers ...[]Score) Score {
	for _, want := range []func(Score) bool{Score.HasCVSS, Score.Known} {
		for _, tier := range tiers {
			if s, ok := highest(tier, want); ok {
				return s
			}
		}
	}
	return Score{Rating: Unknown}
}

// highest returns the most severe score of list for which want holds, the
// earliest on ties.
func highest(list []Score, want func(Score) bool) (Score, bool) {
	best, ok := Score{}, false
	for _, s := range list {
		if want(s) && (!ok || Better(s, best)) {
			best, ok = s, true
		}
	}
	return best, ok
}

// rank orders ratings for AtLeast. Unknown sorts below None; strings that
// are not ratings sort below everything.
func (r Rating) rank() int {
	switch r {
	case Unknown:
		return 0
	case None:
		return 1
	case Low:
		return 2
	case Medium:
		return 3
	case High:
		return 4
	case Critical:
		return 5
	}
	return -1
}

// AtLeast reports whether r is as severe as o or more. Unknown ranks below
// None, so an unknown rating is never at least a known one; callers that
// want to treat unknown severities as failing must check for Unknown
// themselves.
func (r Rating) AtLeast(o Rating) bool {
	return r.rank() >= o.rank()
}

// ParseRating parses a rating name as given on a command line, such as the
// argument of --fail-on. It accepts none, low, medium (or moderate), high
// and critical in any letter case.
func ParseRating(s string) (Rating, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none":
		return None, nil
	case "low":
		return Low, nil
	case "medium", "moderate":
		return Medium, nil
	case "high":
		return High, nil
	case "critical":
		return Critical, nil
	}
	return "", fmt.Errorf("unknown severity rating %q (want none, low, medium, high or critical)", s)
}

// RatingFor maps a base score to a rating. CVSS v3.x and v4.0 use the bands
// None 0.0, Low 0.1-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0.
// CVSS v2 (cvssV2 true) has no None or Critical band: Low 0.0-3.9,
// Medium 4.0-6.9, High 7.0-10.0. Scores outside 0-10 (or NaN) are Unknown.
func RatingFor(score float64, cvssV2 bool) Rating {
	if math.IsNaN(score) || score < 0 || score > 10 {
		return Unknown
	}
	if cvssV2 {
		switch {
		case score < 4.0:
			return Low
		case score < 7.0:
			return Medium
		default:
			return High
		}
	}
	switch {
	case score == 0:
		return None
	case score < 4.0:
		return Low
	case score < 7.0:
		return Medium
	case score < 9.0:
		return High
	default:
		return Critical
	}
}

// FromVector scores one OSV severity entry. typ is the OSV severity type
// (CVSS_V2, CVSS_V3 or CVSS_V4) and vector the CVSS vector string; a
// CVSS_V3 vector must carry its "CVSS:3.0/" or "CVSS:3.1/" prefix, a
// CVSS_V4 vector its "CVSS:4.0/" prefix, and a CVSS_V2 vector is the bare
// "AV:.../Au:..." form. Errors name the vector.
func FromVector(typ, vector string) (Score, error) {
	s := Score{Type: typ, Vector: vector}
	switch typ {
	case osv.SeverityCVSSv2:
		v, err := gocvss20.ParseVector(strings.TrimPrefix(vector, "CVSS:2.0/"))
		if err != nil {
			return Score{}, fmt.Errorf("invalid CVSS v2 vector %q: %w", vector, err)
		}
		s.Score = v.BaseScore()
		s.Rating = RatingFor(s.Score, true)
		return s, nil
	case osv.SeverityCVSSv3:
		switch {
		case strings.HasPrefix(vector, "CVSS:3.1/"):
			v, err := gocvss31.ParseVector(vector)
			if err != nil {
				return Score{}, fmt.Errorf("invalid CVSS v3.1 vector %q: %w", vector, err)
			}
			s.Score = v.BaseScore()
		case strings.HasPrefix(vector, "CVSS:3.0/"):
			v, err := gocvss30.ParseVector(vector)
			if err != nil {
				return Score{}, fmt.Errorf("invalid CVSS v3.0 vector %q: %w", vector, err)
			}
			s.Score = v.BaseScore()
		default:
			return Score{}, fmt.Errorf("invalid CVSS v3 vector %q: want a CVSS:3.0/ or CVSS:3.1/ prefix", vector)
		}
	case osv.SeverityCVSSv4:
		v, err := gocvss40.ParseVector(vector)
		if err != nil {
			return Score{}, fmt.Errorf("invalid CVSS v4 vector %q: %w", vector, err)
		}
		s.Score = v.Score()
	default:
		return Score{}, fmt.Errorf("severity type %q of vector %q is not a CVSS type", typ, vector)
	}
	s.Rating = RatingFor(s.Score, false)
	return s, nil
}

// versionRank orders vectors by CVSS version for ForVulnerability; 0 means
// not a CVSS vector vulngate scores.
func versionRank(typ, vector string) int {
	switch typ {
	case osv.SeverityCVSSv4:
		return 4
	case osv.SeverityCVSSv3:
		switch {
		case strings.HasPrefix(vector, "CVSS:3.1/"):
			return 3
		case strings.HasPrefix(vector, "CVSS:3.0/"):
			return 2
		}
	case osv.SeverityCVSSv2:
		return 1
	}
	return 0
}

// ForVulnerability returns the best severity for a record. It scores the
// vector of the newest CVSS version present (v4.0, then v3.1, v3.0, v2),
// looking at the top-level severity list before the affected entries'
// lists, and skips vectors that do not parse. Without a usable vector it
// uses a numeric database_specific.cvssScore (a score reported without a
// vector), then database_specific.severity when that is a known rating word
// (MODERATE reads as MEDIUM), and otherwise returns an Unknown score. A
// known score names the record (Record = its ID, Origin = OriginRecord).
func ForVulnerability(v *osv.Vulnerability) Score {
	lists := []Vectors{{Where: "severity[]", List: v.Severity}}
	for i, a := range v.Affected {
		if len(a.Severity) > 0 { // (an empty list scores nothing: no label needed)
			lists = append(lists, Vectors{Where: fmt.Sprintf("affected[%d].severity[]", i), List: a.Severity})
		}
	}
	s, ok := BestVector(lists...)
	if !ok {
		if sc, ok := databaseSpecificScore(v.DatabaseSpecific); ok {
			s = Score{Score: sc, Rating: RatingFor(sc, false), Type: TypeDatabaseSpecific, Source: "database_specific.cvssScore (reported score, no vector)"}
		} else if r, word, ok := databaseSpecificRating(v.DatabaseSpecific); ok {
			s = Score{Rating: r, Type: TypeDatabaseSpecific, Source: "database_specific.severity " + word}
		} else {
			return Score{Rating: Unknown}
		}
	}
	s.Record, s.Origin = v.ID, OriginRecord
	return s
}

// Vectors is a list of CVSS vectors and where they were found, for the
// Source of the score (e.g. "severity[]").
type Vectors struct {
	Where string
	List  []osv.Severity
}

// BestVector scores the vector of the newest CVSS version among the lists
// (v4.0, then v3.1, v3.0, v2; the first of a version wins), skipping
// vectors that do not parse. It reports false when none is usable.
func BestVector(lists ...Vectors) (Score, bool) {
	var (
		best     Score
		bestRank int
	)
	for _, l := range lists {
		for _, sev := range l.List {
			r := versionRank(sev.Type, sev.Score)
			if r <= bestRank {
				continue
			}
			s, err := FromVector(sev.Type, sev.Score)
			if err != nil {
				continue
			}
			s.Source = strings.TrimSpace(l.Where + " " + vectorLabel(sev.Type, sev.Score) + " vector")
			best, bestRank = s, r
		}
	}
	return best, bestRank > 0
}

func vectorLabel(typ, vector string) string {
	if typ == osv.SeverityCVSSv2 {
		return "CVSS:2.0"
	}
	if i := strings.IndexByte(vector, '/'); i > 0 {
		return vector[:i]
	}
	return typ
}

// databaseSpecificScore reads a numeric CVSS score that a source reported
// without a vector (OSS Index records keep it as database_specific.cvssScore).
func databaseSpecificScore(raw json.RawMessage) (float64, bool) {
	if !mayHoldName(raw, "cvssscore") {
		return 0, false
	}
	var ds struct {
		CVSSScore *float64 `json:"cvssScore"`
	}
	if err := json.Unmarshal(raw, &ds); err != nil || ds.CVSSScore == nil || *ds.CVSSScore <= 0 || *ds.CVSSScore > 10 {
		return 0, false
	}
	return *ds.CVSSScore, true
}

// databaseSpecificRating reads a rating word from a database_specific
// object's "severity" string.
func databaseSpecificRating(raw json.RawMessage) (Rating, string, bool) {
	if !mayHoldName(raw, "severity") {
		return "", "", false
	}
	var ds struct {
		Severity any `json:"severity"`
	}
	if err := json.Unmarshal(raw, &ds); err != nil {
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

// mayHoldName reports whether the JSON object raw may have a member that
// encoding/json matches with the field name lower (lower case ASCII): it
// says no only when raw is ASCII without escapes and holds no copy of
// lower in any letter case, which encoding/json's case-insensitive
// matching then cannot find either. Most records' database_specific
// objects have neither member, and decoding them to find out was most of
// the time of scoring a record without a CVSS vector.
func mayHoldName(raw []byte, lower string) bool {
	for i, c := range raw {
		if c >= utf8.RuneSelf || c == '\\' {
			return true
		}
		j := 0
		for j < len(lower) && i+j < len(raw) && raw[i+j]|0x20 == lower[j] {
			j++
		}
		if j == len(lower) {
			return true
		}
	}
	return false
}
