// Package osv implements the OSV (Open Source Vulnerability) record format
// as plain Go structs that encoding/json can read and write, following the
// OSV schema (https://ossf.github.io/osv-schema/).
//
// It models the fields vulngate stores, matches on and shows: identifiers,
// timestamps, aliases, affected packages with their ranges and version lists,
// severity vectors and references. Fields it does not interpret
// (ecosystem_specific, database_specific) are kept as raw JSON so that a
// record survives a round trip. It leaves out the schema's protobuf bindings
// and does no network access; range evaluation lives in internal/match.
package osv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Range types defined by the OSV schema.
const (
	RangeSemver    = "SEMVER"
	RangeEcosystem = "ECOSYSTEM"
	RangeGit       = "GIT"
)

// Severity types defined by the OSV schema.
const (
	SeverityCVSSv2 = "CVSS_V2"
	SeverityCVSSv3 = "CVSS_V3"
	SeverityCVSSv4 = "CVSS_V4"
	SeverityUbuntu = "Ubuntu"
)

// Vulnerability is one OSV record.
type Vulnerability struct {
	SchemaVersion    string          `json:"schema_version,omitempty"`
	ID               string          `json:"id"`
	Modified         Time            `json:"modified"`
	Published        Time            `json:"published,omitzero"`
	Withdrawn        Time            `json:"withdrawn,omitzero"`
	Aliases          []string        `json:"aliases,omitempty"`
	Related          []string        `json:"related,omitempty"`
	Upstream         []string        `json:"upstream,omitempty"`
	Summary          string          `json:"summary,omitempty"`
	Details          string          `json:"details,omitempty"`
	Severity         []Severity      `json:"severity,omitempty"`
	Affected         []Affected      `json:"affected,omitempty"`
	References       []Reference     `json:"references,omitempty"`
	Credits          []Credit        `json:"credits,omitempty"`
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

// Affected describes one affected package and the versions affected.
type Affected struct {
	Package           Package         `json:"package"`
	Severity          []Severity      `json:"severity,omitempty"`
	Ranges            []Range         `json:"ranges,omitempty"`
	Versions          []string        `json:"versions,omitempty"`
	EcosystemSpecific json.RawMessage `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  json.RawMessage `json:"database_specific,omitempty"`
}

// Package identifies a package within an ecosystem.
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	PURL      string `json:"purl,omitempty"`
}

// Range is a list of events over one version ordering.
type Range struct {
	Type             string          `json:"type"`
	Repo             string          `json:"repo,omitempty"`
	Events           []Event         `json:"events"`
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

// Event is one boundary of an affected interval. Exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// Severity is a scoring vector such as a CVSS vector string.
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Reference is a link with a type.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// Credit names someone credited for the record.
type Credit struct {
	Name    string   `json:"name"`
	Contact []string `json:"contact,omitempty"`
	Type    string   `json:"type,omitempty"`
}

// Time is an OSV timestamp. It accepts RFC 3339 with or without fractional
// seconds, and (as some databases write) without a zone, read as UTC.
type Time struct{ time.Time }

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"}

// ParseTime parses an OSV timestamp.
func ParseTime(s string) (Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return Time{t.UTC()}, nil
		}
	}
	return Time{}, fmt.Errorf("invalid timestamp %q (want RFC 3339)", s)
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Time{}
		return nil
	}
	var s string
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' && bytes.IndexByte(b[1:n-1], '\\') < 0 {
		s = string(b[1 : n-1])
	} else if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	if s == "" {
		*t = Time{}
		return nil
	}
	p, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = p
	return nil
}

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

// IsWithdrawn reports whether the record carries a withdrawn timestamp.
func (v *Vulnerability) IsWithdrawn() bool { return !v.Withdrawn.IsZero() }

// IDs returns the record's ID followed by its aliases.
func (v *Vulnerability) IDs() []string {
	out := make([]string, 0, 1+len(v.Aliases))
	out = append(out, v.ID)
	return append(out, v.Aliases...)
}

// decodeOptions make the decoder accept what encoding/json accepts (field
// names in any letter case, duplicate names, invalid UTF-8 replaced), so
// that the same records are valid as before. The decoder is
// github.com/go-json-experiment/json (the proposed encoding/json/v2): it
// validates and decodes in one pass, 3-4 times faster than encoding/json
// on OSV records (header: 127 -> 31 µs, full record: 159 -> 54 µs per
// record on a loaded 2-core machine), which was a third of an import's
// CPU time.
var decodeOptions = jsonv2.JoinOptions(
	jsonv2.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(false),
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// parseOptions are decodeOptions with each list kept at its length (see
// exactList): Parse keeps what it decodes, ParseHeader (the import's)
// drops it.
var parseOptions = jsonv2.JoinOptions(decodeOptions, exactLists)

// ErrMalformed is wrapped by every error Parse returns for a record that
// is not a usable OSV record.
var ErrMalformed = errors.New("malformed OSV record")

// Parse decodes and validates one OSV record. It rejects records that are
// not JSON objects, lack an id or a modified timestamp, or whose affected
// entries lack a package ecosystem/name where ranges need them.
func Parse(data []byte) (*Vulnerability, error) { return parse(data, parseOptions) }

// ParseLean is Parse leaving out the record's references and credits
// (nil whatever the record holds; their JSON is still checked to be
// JSON), for a caller that never reads them: a scan reporting its
// results. They are most of many records' members (a GHSA record lists
// 5-20 references, two strings each).
func ParseLean(data []byte) (*Vulnerability, error) { return parse(data, leanOptions) }

// leanOptions are parseOptions with references and credits read past.
var leanOptions = jsonv2.JoinOptions(decodeOptions, leanLists)

func parse(data []byte, opts jsonv2.Options) (*Vulnerability, error) {
	var v Vulnerability
	if err := jsonv2.Unmarshal(data, &v, opts); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return &v, nil
}

// Validate checks the invariants vulngate relies on.
func (v *Vulnerability) Validate() error {
	if strings.TrimSpace(v.ID) == "" {
		return fmt.Errorf("%w: missing id", ErrMalformed)
	}
	if v.Modified.IsZero() {
		return fmt.Errorf("%w: %s: missing modified timestamp", ErrMalformed, v.ID)
	}
	for i, a := range v.Affected {
		for j, r := range a.Ranges {
			switch r.Type {
			case RangeSemver, RangeEcosystem, RangeGit:
			default:
				return fmt.Errorf("%w: %s: affected[%d].ranges[%d]: unknown range type %q", ErrMalformed, v.ID, i, j, r.Type)
			}
			if len(r.Events) == 0 {
				return fmt.Errorf("%w: %s: affected[%d].ranges[%d]: no events", ErrMalformed, v.ID, i, j)
			}
			for k, e := range r.Events {
				n := 0
				for _, s := range []string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
					if s != "" {
						n++
					}
				}
				if n != 1 {
					return fmt.Errorf("%w: %s: affected[%d].ranges[%d].events[%d]: want exactly one of introduced, fixed, last_affected, limit", ErrMalformed, v.ID, i, j, k)
				}
			}
		}
	}
	return nil
}

// BaseEcosystem returns the part of an ecosystem string before the first
// colon: "Debian:12" -> "Debian". The OSV bucket files records under it.
func BaseEcosystem(eco string) string {
	if i := strings.IndexByte(eco, ':'); i >= 0 {
		return eco[:i]
	}
	return eco
}

// Header is the part of a record needed to store and index it: decoding
// only these fields is several times faster than a full Parse, which
// matters when importing millions of records. The whole document is still
// checked to be well-formed JSON.
type Header struct {
	ID        string           `json:"id"`
	Modified  Time             `json:"modified"`
	Withdrawn Time             `json:"withdrawn"`
	Aliases   []string         `json:"aliases"`
	Affected  []HeaderAffected `json:"affected"`
}

// HeaderAffected is what Header keeps of an affected entry.
type HeaderAffected struct {
	Package Package       `json:"package"`
	Ranges  []HeaderRange `json:"ranges"`
}

// HeaderRange is what Header keeps of a range.
type HeaderRange struct {
	Type string `json:"type"`
}

// ParseHeader decodes and validates the header fields of one record: an
// id, a modified timestamp and known range types. Records in the plain
// form of OSV's exports are decoded by a scanner of their own
// (headerscan.go), others by the general decoder, with the same result.
// The rest of the record (events, versions lists, severity) is validated
// when the record is fully parsed for matching.
func ParseHeader(data []byte) (*Header, error) {
	h, ok := scanHeader(data)
	if !ok {
		h = Header{}
		if err := jsonv2.Unmarshal(data, &h, decodeOptions); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	if strings.TrimSpace(h.ID) == "" {
		return nil, fmt.Errorf("%w: missing id", ErrMalformed)
	}
	if h.Modified.IsZero() {
		return nil, fmt.Errorf("%w: %s: missing modified timestamp", ErrMalformed, h.ID)
	}
	for i, a := range h.Affected {
		for j, r := range a.Ranges {
			switch r.Type {
			case RangeSemver, RangeEcosystem, RangeGit:
			default:
				return nil, fmt.Errorf("%w: %s: affected[%d].ranges[%d]: unknown range type %q", ErrMalformed, h.ID, i, j, r.Type)
			}
		}
	}
	return &h, nil
}

// IsWithdrawn reports whether the record carries a withdrawn timestamp.
func (h *Header) IsWithdrawn() bool { return !h.Withdrawn.IsZero() }
