package vex

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"strconv"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/vulngate/vulngate/internal/assess"
)

// CycloneDX property names carrying vulngate's own data.
const (
	propType    = "vulngate:assessment:type"
	propScope   = "vulngate:assessment:scope"
	propBy      = "vulngate:assessment:by"
	propExpires = "vulngate:assessment:expires"
	propAuto    = "vulngate:assessment:auto"
)

func writeCycloneDX(w io.Writer, in Input) error {
	spec := cdx.SpecVersion1_6
	switch in.SpecVersion {
	case "", "1.6":
	case "1.5":
		spec = cdx.SpecVersion1_5
	default:
		return fmt.Errorf("unsupported CycloneDX spec version %q (want 1.5 or 1.6)", in.SpecVersion)
	}
	bom := cdx.NewBOM()
	bom.SerialNumber = "urn:uuid:" + newUUID()
	bom.Metadata = &cdx.Metadata{
		Timestamp: fmtTimestamp(in.Time),
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: "vulngate"}}},
	}
	if in.Author != "" {
		bom.Metadata.Authors = &[]cdx.OrganizationalContact{{Name: in.Author}}
	}
	var comps []cdx.Component
	seen := map[string]bool{}
	var vulns []cdx.Vulnerability
	for _, st := range statements(in) {
		v := cdx.Vulnerability{ID: st.vuln, Analysis: &cdx.VulnerabilityAnalysis{}}
		if len(st.products) > 0 {
			affects := make([]cdx.Affects, 0, len(st.products))
			for _, p := range st.products {
				affects = append(affects, cdx.Affects{Ref: p})
				if !seen[p] {
					seen[p] = true
					comps = append(comps, cdx.Component{BOMRef: p, Type: cdx.ComponentTypeLibrary, Name: p, PackageURL: p})
				}
			}
			v.Affects = &affects
		}
		if st.a == nil {
			v.Analysis.State = cdx.IASInTriage
			vulns = append(vulns, v)
			continue
		}
		a := st.a
		v.Analysis.Detail = a.Comment
		v.Analysis.FirstIssued = fmtTimestamp(a.At)
		v.Analysis.LastUpdated = fmtTimestamp(a.At)
		switch a.Effect {
		case assess.Allow:
			v.Analysis.State = cdx.IASNotAffected
			v.Analysis.Justification = cdx.IAJCodeNotReachable
		case assess.Warn:
			v.Analysis.State = cdx.IASExploitable
			v.Analysis.Response = &[]cdx.ImpactAnalysisResponse{cdx.IARWorkaroundAvailable}
		default:
			v.Analysis.State = cdx.IASExploitable
			v.Analysis.Response = &[]cdx.ImpactAnalysisResponse{cdx.IARUpdate}
		}
		props := []cdx.Property{{Name: propType, Value: a.Type}, {Name: propScope, Value: a.Scope}}
		if a.By != "" {
			props = append(props, cdx.Property{Name: propBy, Value: a.By})
		}
		if !a.Expires.IsZero() {
			props = append(props, cdx.Property{Name: propExpires, Value: fmtTimestamp(a.Expires)})
		}
		if a.Auto {
			props = append(props, cdx.Property{Name: propAuto, Value: "true"})
		}
		v.Properties = &props
		vulns = append(vulns, v)
	}
	if len(comps) > 0 {
		bom.Components = &comps
	}
	bom.Vulnerabilities = &vulns
	return cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON).SetPretty(true).SetEscapeHTML(false).EncodeVersion(bom, spec)
}

func readCycloneDX(data []byte) ([]assess.Assessment, int, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, 0, fmt.Errorf("malformed CycloneDX document: %w", err)
	}
	if bom.Vulnerabilities == nil {
		return nil, 0, fmt.Errorf("CycloneDX document has no vulnerabilities[]: not a VEX document")
	}
	var out []assess.Assessment
	skipped := 0
	for i, v := range *bom.Vulnerabilities {
		where := fmt.Sprintf("vulnerabilities[%d]", i)
		if v.ID == "" {
			return nil, 0, fmt.Errorf("%s: %w", where, errNoVuln)
		}
		where += " (" + v.ID + ")"
		if v.Analysis == nil || v.Analysis.State == "" || v.Analysis.State == cdx.IASInTriage {
			skipped++
			continue
		}
		a := assess.Assessment{VulnID: v.ID, Comment: v.Analysis.Detail, Scope: assess.Global}
		switch v.Analysis.State {
		case cdx.IASNotAffected, cdx.IASFalsePositive, cdx.IASResolved, cdx.IASResolvedWithPedigree:
			a.Type = assess.Ignore
		case cdx.IASExploitable:
			a.Type = assess.Blocked
			if r := v.Analysis.Response; r != nil && slices.Contains(*r, cdx.IARWorkaroundAvailable) &&
				!slices.Contains(*r, cdx.IARUpdate) && !slices.Contains(*r, cdx.IARRollback) {
				a.Type = assess.Caution
			}
		default:
			return nil, 0, fmt.Errorf("%s: unknown analysis state %q", where, v.Analysis.State)
		}
		var err error
		if a.At, err = parseTimestamp(firstNonEmpty(v.Analysis.LastUpdated, v.Analysis.FirstIssued)); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", where, err)
		}
		if v.Properties != nil {
			for _, p := range *v.Properties {
				switch p.Name {
				case propType:
					a.Type = p.Value
				case propScope:
					a.Scope = p.Value
				case propBy:
					a.By = p.Value
				case propExpires:
					if a.Expires, err = parseTimestamp(p.Value); err != nil {
						return nil, 0, fmt.Errorf("%s: %s: %w", where, propExpires, err)
					}
				case propAuto:
					a.Auto, _ = strconv.ParseBool(p.Value)
				}
			}
		}
		out = append(out, a)
	}
	return out, skipped, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
