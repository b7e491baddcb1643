// Package compare reads the JSON scan reports of vulngate (vulngate.scan/v1)
// and osv-scanner (v2 --format json) and compares, per SBOM component, the
// sets of OSV record IDs each tool reports.
//
// The records that matched are compared: vulngate's findings[].records and
// osv-scanner's vulnerabilities[].id (both restricted to IDs that exist as
// records in the local database). Aliases are not compared: vulngate's
// findings[].ids carry every ID of a merged group. osv-scanner
// reports packages by (ecosystem, name, version) rather than PURL, where name
// is the SBOM's name field, so its packages are mapped back to the SBOM
// components by a normalized key. It
// does not compare severities, fixed versions or summaries.
package compare

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/bench/internal/corpus"
)

// Set is a set of IDs.
type Set map[string]struct{}

// Sorted returns the IDs sorted.
func (s Set) Sorted() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Component identifies an SBOM component for key matching. SBOMName is the
// CycloneDX name field, which osv-scanner reports as the package name (for
// Maven that is the artifact only, without the group).
type Component struct {
	PURL, Ecosystem, SBOMName, Version string
}

var pypiNorm = regexp.MustCompile(`[-_.]+`)

// Key is the normalized (ecosystem, name, version) used to match
// osv-scanner's packages with SBOM components.
func Key(eco, name, version string) string {
	switch eco {
	case "Go":
		version = strings.TrimPrefix(version, "v")
	case "PyPI":
		name = pypiNorm.ReplaceAllString(strings.ToLower(name), "-")
	case "Packagist", "NuGet":
		name = strings.ToLower(name)
	}
	return eco + "|" + name + "|" + version
}

// VulngateReport is the part of vulngate.scan/v1 compared here.
type VulngateReport struct {
	Schema     string `json:"schema"`
	Components []struct {
		PURL      string `json:"purl"`
		Name      string `json:"name"`
		Version   string `json:"version"`
		Ecosystem string `json:"ecosystem"`
		Findings  []struct {
			ID      string   `json:"id"`
			IDs     []string `json:"ids"`
			Aliases []string `json:"aliases"`
			Records []string `json:"records"`
		} `json:"findings"`
		Errors []string `json:"errors"`
	} `json:"components"`
}

// Vulngate returns purl -> record IDs (restricted to known) from a
// vulngate JSON report, and the per-purl errors it reported.
func Vulngate(path string, known Set) (map[string]Set, map[string][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var r VulngateReport
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Schema != "vulngate.scan/v1" {
		return nil, nil, fmt.Errorf("%s: schema %q, want vulngate.scan/v1", path, r.Schema)
	}
	out := map[string]Set{}
	errs := map[string][]string{}
	for _, c := range r.Components {
		s := out[c.PURL]
		if s == nil {
			s = Set{}
			out[c.PURL] = s
		}
		for _, f := range c.Findings {
			// The records that matched the component (ids also lists
			// aliases, which may name records of other packages).
			for _, id := range f.Records {
				if _, ok := known[id]; ok {
					s[id] = struct{}{}
				}
			}
		}
		if len(c.Errors) > 0 {
			errs[c.PURL] = c.Errors
		}
	}
	return out, errs, nil
}

type osvScannerReport struct {
	Results []struct {
		Packages []struct {
			Package struct {
				Name      string `json:"name"`
				Version   string `json:"version"`
				Ecosystem string `json:"ecosystem"`
			} `json:"package"`
			Vulnerabilities []struct {
				ID string `json:"id"`
			} `json:"vulnerabilities"`
			Groups []struct {
				IDs []string `json:"ids"`
			} `json:"groups"`
		} `json:"packages"`
	} `json:"results"`
}

// OSVScanner returns purl -> record IDs from an osv-scanner JSON report,
// mapping its packages back to comps. Packages it cannot map are returned
// by key in unmapped.
func OSVScanner(path string, comps []Component, known Set) (map[string]Set, map[string]Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var r osvScannerReport
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	byKey := map[string]string{}
	for _, c := range comps {
		k := Key(c.Ecosystem, c.SBOMName, c.Version)
		if _, dup := byKey[k]; dup {
			byKey[k] = "" // ambiguous: reported as unmapped
			continue
		}
		byKey[k] = c.PURL
	}
	out, unmapped := map[string]Set{}, map[string]Set{}
	for _, res := range r.Results {
		for _, p := range res.Packages {
			eco, _, _ := strings.Cut(p.Package.Ecosystem, ":")
			k := Key(eco, p.Package.Name, p.Package.Version)
			dst := unmapped
			id := k
			if purl := byKey[k]; purl != "" {
				dst, id = out, purl
			}
			s := dst[id]
			if s == nil {
				s = Set{}
				dst[id] = s
			}
			for _, v := range p.Vulnerabilities {
				if _, ok := known[v.ID]; ok {
					s[v.ID] = struct{}{}
				}
			}
		}
	}
	return out, unmapped, nil
}

// Diff is one component on which the tools disagree.
type Diff struct {
	PURL         string
	OnlyVulngate []string
	OnlyPeer     []string
}

// Result summarizes a comparison.
type Result struct {
	Total, Equal     int
	WithFindingsVG   int // components with at least one record ID, vulngate
	WithFindingsPeer int
	IDsVG, IDsPeer   int // sum over components of record IDs
	Diffs            []Diff
}

// Compare compares a and b (purl -> IDs) over comps.
func Compare(comps []Component, vg, peer map[string]Set) Result {
	var r Result
	for _, c := range comps {
		a, b := vg[c.PURL], peer[c.PURL]
		r.Total++
		r.IDsVG += len(a)
		r.IDsPeer += len(b)
		if len(a) > 0 {
			r.WithFindingsVG++
		}
		if len(b) > 0 {
			r.WithFindingsPeer++
		}
		d := Diff{PURL: c.PURL}
		for id := range a {
			if _, ok := b[id]; !ok {
				d.OnlyVulngate = append(d.OnlyVulngate, id)
			}
		}
		for id := range b {
			if _, ok := a[id]; !ok {
				d.OnlyPeer = append(d.OnlyPeer, id)
			}
		}
		if len(d.OnlyVulngate) == 0 && len(d.OnlyPeer) == 0 {
			r.Equal++
			continue
		}
		slices.Sort(d.OnlyVulngate)
		slices.Sort(d.OnlyPeer)
		r.Diffs = append(r.Diffs, d)
	}
	return r
}

// Hint describes how record rec relates to the component (eco, name,
// version), to help explain a disagreement: whether rec is withdrawn,
// whether an affected entry names the package (and under which ecosystem
// variant or spelling), and whether the version is listed in versions[] or
// only covered by ranges. Repository URLs in ecosystem variants are elided.
func Hint(rec *corpus.Record, eco, name, version string) string {
	if rec == nil {
		return "not a corpus record"
	}
	var hints []string
	if rec.Withdrawn != "" {
		hints = append(hints, "withdrawn")
	}
	want := Key(eco, name, "")
	v := version
	if eco == "Go" {
		v = strings.TrimPrefix(v, "v")
	}
	entries, listed, hasVersions := 0, false, false
	var variants, spellings, types []string
	for _, a := range rec.Affected {
		base, variant, _ := strings.Cut(a.Package.Ecosystem, ":")
		if Key(base, a.Package.Name, "") != want {
			continue
		}
		entries++
		if variant != "" {
			if strings.Contains(variant, "://") {
				variant = "<repository URL>"
			}
			if e := base + ":" + variant; !slices.Contains(variants, e) {
				variants = append(variants, e)
			}
		}
		if a.Package.Name != name && !slices.Contains(spellings, a.Package.Name) {
			spellings = append(spellings, a.Package.Name)
		}
		for _, r := range a.Ranges {
			if !slices.Contains(types, r.Type) {
				types = append(types, r.Type)
			}
		}
		hasVersions = hasVersions || len(a.Versions) > 0
		listed = listed || slices.Contains(a.Versions, v)
	}
	if entries == 0 {
		return strings.Join(append(hints, "no affected[] entry for this package"), "; ")
	}
	if len(variants) > 0 {
		hints = append(hints, "ecosystem "+strings.Join(variants, ","))
	}
	if len(spellings) > 0 {
		hints = append(hints, "named "+strings.Join(spellings, ","))
	}
	slices.Sort(types)
	rs := "no ranges"
	if len(types) > 0 {
		rs = "ranges " + strings.Join(types, "+")
	}
	switch {
	case listed:
		hints = append(hints, "version in versions[]")
	case hasVersions:
		hints = append(hints, "version not in versions[], "+rs)
	default:
		hints = append(hints, "no versions[], "+rs)
	}
	return strings.Join(hints, "; ")
}
