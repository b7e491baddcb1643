package assess

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/lazyre"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/store"
)

// Built-in type names.
const (
	Ignore  = "Ignore"
	Caution = "Caution"
	Blocked = "Blocked"
)

// Range is an inclusive CVSS score range on one decimal, held in tenths
// (Min 70, Max 89 is 7.0-8.9) so that boundaries compare exactly.
type Range struct {
	Min, Max int
}

func (r Range) String() string { return fmt.Sprintf("%s-%s", tenths(r.Min), tenths(r.Max)) }

func tenths(n int) string { return fmt.Sprintf("%d.%d", n/10, n%10) }

// Contains reports whether a score (rounded to one decimal) lies in r.
func (r Range) Contains(score float64) bool {
	t := int(math.Round(score * 10))
	return r.Min <= t && t <= r.Max
}

// Validate checks 0.0 <= Min <= Max <= 10.0.
func (r Range) Validate() error {
	if r.Min < 0 || r.Max > 100 || r.Min > 100 || r.Max < 0 {
		return fmt.Errorf("CVSS range %s is outside 0.0-10.0", r)
	}
	if r.Min > r.Max {
		return fmt.Errorf("CVSS range %s: minimum is above maximum", r)
	}
	return nil
}

// Overlaps reports whether two ranges share a score.
func (r Range) Overlaps(o Range) bool { return r.Min <= o.Max && o.Min <= r.Max }

var rangeRE = lazyre.New(`^\s*(\d+(?:\.\d)?)\s*(?:-|–|\.\.)\s*(\d+(?:\.\d)?)\s*$`)

// ParseRange parses "7.0-8.9" (also "7-8.9", "7.0..8.9"): scores with at
// most one decimal, inclusive, within 0.0-10.0.
func ParseRange(s string) (Range, error) {
	m := rangeRE.Regexp().FindStringSubmatch(s)
	if m == nil {
		return Range{}, fmt.Errorf("invalid CVSS range %q: want MIN-MAX with at most one decimal, e.g. 7.0-8.9", s)
	}
	lo, _ := strconv.ParseFloat(m[1], 64)
	hi, _ := strconv.ParseFloat(m[2], 64)
	r := Range{Min: int(math.Round(lo * 10)), Max: int(math.Round(hi * 10))}
	if err := r.Validate(); err != nil {
		return Range{}, fmt.Errorf("invalid CVSS range %q: %w", s, err)
	}
	return r, nil
}

// Type is an assessment type.
type Type struct {
	Name    string
	Effect  Effect
	Builtin bool
	Auto    *Range // nil: never auto-assesses by CVSS score
	// AutoKEV auto-assesses findings in CISA's Known Exploited
	// Vulnerabilities catalogue; AutoEPSS (nil: never) those whose EPSS
	// percentile (0-1) is at least that. Both need the enrichment sources.
	AutoKEV     bool
	AutoEPSS    *float64
	Expiry      time.Duration // 0: assessments of this type never expire
	Description string
}

var typeName = lazyre.New(`^[A-Za-z][A-Za-z0-9 _.-]{0,63}$`)

// Validate checks one type on its own.
func (t Type) Validate() error {
	if !typeName.MatchString(t.Name) {
		return fmt.Errorf("invalid assessment type name %q: 1-64 letters, digits, spaces or _ . -, starting with a letter", t.Name)
	}
	if _, err := ParseEffect(string(t.Effect)); err != nil {
		return fmt.Errorf("assessment type %s: %w", t.Name, err)
	}
	if t.Auto != nil {
		if err := t.Auto.Validate(); err != nil {
			return fmt.Errorf("assessment type %s: %w", t.Name, err)
		}
	}
	if t.Expiry < 0 {
		return fmt.Errorf("assessment type %s: negative expiry %s", t.Name, t.Expiry)
	}
	if t.AutoEPSS != nil && !(*t.AutoEPSS > 0 && *t.AutoEPSS <= 1) {
		return fmt.Errorf("assessment type %s: EPSS percentile threshold %v is not above 0 and at most 1 (e.g. 0.95)", t.Name, *t.AutoEPSS)
	}
	return nil
}

// ValidateTypes checks every type and that no two auto-assessment ranges
// overlap (the error names both types). Names are unique ignoring case.
func ValidateTypes(types []Type) error {
	var errs []error
	seen := map[string]string{}
	for _, t := range types {
		if err := t.Validate(); err != nil {
			errs = append(errs, err)
		}
		k := strings.ToLower(t.Name)
		if prev, ok := seen[k]; ok {
			errs = append(errs, fmt.Errorf("assessment types %q and %q differ only in letter case", prev, t.Name))
		}
		seen[k] = t.Name
	}
	for i, a := range types {
		for _, b := range types[i+1:] {
			if a.Auto != nil && b.Auto != nil && a.Auto.Overlaps(*b.Auto) {
				errs = append(errs, fmt.Errorf("auto-assessment ranges overlap: %s (%s) and %s (%s)", a.Name, a.Auto, b.Name, b.Auto))
			}
		}
	}
	return errors.Join(errs...)
}

// HasScore reports whether a severity carries a CVSS base score (a rating
// word alone, from database_specific, is not a score).
func HasScore(s severity.Score) bool {
	switch s.Type {
	case "", severity.TypeDatabaseSpecific:
		return false
	}
	return !math.IsNaN(s.Score)
}

// Exploitation is what the enrichment sources know of a finding's
// exploitation.
type Exploitation struct {
	KEV            bool    // in the CISA KEV catalogue
	EPSSPercentile float64 // 0-1, -1 when unknown
}

// AutoRule returns the type auto-assessment gives a finding and why: among
// the types whose rules match (known exploited, EPSS percentile at least
// the type's threshold, CVSS score in the type's range) the one with the
// most severe effect, a KEV rule before an EPSS rule before a CVSS range
// on ties. ok is false when no rule matches.
func AutoRule(types []Type, s severity.Score, x Exploitation) (t Type, why string, ok bool) {
	best := -1
	consider := func(c Type, reason string) {
		if !ok || c.Effect.rank() > best {
			t, why, ok, best = c, reason, true, c.Effect.rank()
		}
	}
	for _, c := range types {
		if c.AutoKEV && x.KEV {
			consider(c, fmt.Sprintf("known exploited (CISA KEV), a %s rule", c.Name))
		}
	}
	for _, c := range types {
		if c.AutoEPSS != nil && x.EPSSPercentile >= 0 && x.EPSSPercentile >= *c.AutoEPSS {
			consider(c, fmt.Sprintf("EPSS percentile %s is at least the %s threshold %s", pct(x.EPSSPercentile), c.Name, pct(*c.AutoEPSS)))
		}
	}
	if c, found := AutoType(types, s); found {
		consider(c, fmt.Sprintf("CVSS %.1f is in the %s range %s", s.Score, c.Name, c.Auto))
	}
	return t, why, ok
}

// ParseEPSSThreshold reads an EPSS percentile threshold: "0.95", "95%",
// or "none"/"" for no threshold (nil).
func ParseEPSSThreshold(s string) (*float64, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" || s == "none" {
		return nil, nil
	}
	percent := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if percent {
		v /= 100
	}
	if err != nil || !(v > 0 && v <= 1) {
		return nil, fmt.Errorf("invalid EPSS percentile threshold %q: want a share above 0 and at most 1 (0.95) or a percentage (95%%)", s)
	}
	return &v, nil
}

// Rules describes a type's auto-assessment rules for people: "9.0-10.0,
// KEV, EPSS ≥ 95%", or "-" when it has none.
func (t Type) Rules() string {
	var parts []string
	if t.Auto != nil {
		parts = append(parts, t.Auto.String())
	}
	if t.AutoKEV {
		parts = append(parts, "KEV")
	}
	if t.AutoEPSS != nil {
		parts = append(parts, "EPSS ≥ "+pct(*t.AutoEPSS))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func pct(p float64) string {
	return strconv.FormatFloat(p*100, 'f', -1, 64) + "%"
}

// Autos reports whether any type auto-assesses.
func Autos(types []Type) bool {
	return slices.ContainsFunc(types, func(t Type) bool { return t.Auto != nil || t.AutoKEV || t.AutoEPSS != nil })
}

// AutoType returns the type whose auto-assessment range contains the
// severity's CVSS score. A severity without a CVSS score is never
// auto-assessed.
func AutoType(types []Type, s severity.Score) (Type, bool) {
	if !HasScore(s) {
		return Type{}, false
	}
	for _, t := range types {
		if t.Auto != nil && t.Auto.Contains(s.Score) {
			return t, true
		}
	}
	return Type{}, false
}

// FindType returns the type named name (ignoring letter case).
func FindType(types []Type, name string) (Type, bool) {
	i := slices.IndexFunc(types, func(t Type) bool { return strings.EqualFold(t.Name, name) })
	if i < 0 {
		return Type{}, false
	}
	return types[i], true
}

var durRE = lazyre.New(`^(\d+)([dwhm])$`)

// ParseDuration parses an expiry such as "30d", "2w", "12h", "90m" or any
// Go duration ("36h30m"). "never" and "0" mean no expiry (0).
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "never" || s == "0" || s == "" {
		return 0, nil
	}
	if m := durRE.Regexp().FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 100000 {
			return 0, fmt.Errorf("invalid duration %q: too large", s)
		}
		unit := map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "h": time.Hour, "m": time.Minute}[m[2]]
		return time.Duration(n) * unit, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want e.g. 30d, 2w, 12h or never", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: negative", s)
	}
	return d, nil
}

// FormatDuration renders an expiry the way ParseDuration reads it.
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "never"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

func typeFromStore(t store.AssessType) Type {
	out := Type{Name: t.Name, Effect: Effect(t.Effect), Builtin: t.Builtin, Expiry: time.Duration(t.ExpirySeconds) * time.Second, Description: t.Description,
		AutoKEV: t.AutoKEV}
	if t.AutoMin >= 0 && t.AutoMax >= 0 {
		out.Auto = &Range{Min: t.AutoMin, Max: t.AutoMax}
	}
	if t.AutoEPSS > 0 {
		v := t.AutoEPSS
		out.AutoEPSS = &v
	}
	return out
}

func typeToStore(t Type) store.AssessType {
	out := store.AssessType{Name: t.Name, Effect: string(t.Effect), Builtin: t.Builtin, AutoMin: -1, AutoMax: -1,
		ExpirySeconds: int64(t.Expiry / time.Second), Description: t.Description, AutoKEV: t.AutoKEV, AutoEPSS: -1}
	if t.Auto != nil {
		out.AutoMin, out.AutoMax = t.Auto.Min, t.Auto.Max
	}
	if t.AutoEPSS != nil {
		out.AutoEPSS = *t.AutoEPSS
	}
	return out
}
