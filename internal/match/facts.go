package match

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/store"
)

// Facts looks up what the enrichment sources (NVD, EPSS, the KEV
// catalogue) hold about CVE IDs. When the scanner's Advisories also
// implement it (as *store.Store does), every finding gets the facts of the
// CVE IDs of its alias group: the highest EPSS score, the KEV entry, the
// NVD record's CWEs and published time, and, when neither its records nor
// the other mirrored records of its group have a CVSS vector, the NVD
// record's CVSS score (Origin "nvd").
type Facts interface {
	VulnFacts(ctx context.Context, ids []string) (map[string]store.VulnFacts, error)
}

// readFacts starts reading, in one batched lookup, the facts of the CVE
// IDs of every finding; the returned function waits for them and applies
// them. The lookup runs beside the alias groups' (the findings' IDs are
// set when they are scored; applying needs the severities the groups
// set, so it waits for them).
func (s *Scanner) readFacts(ctx context.Context, out []ComponentResult) (apply func() error) {
	fs, ok := s.src.(Facts)
	if !ok {
		return func() error { return nil }
	}
	ids := map[string]bool{}
	for i := range out { // (not copied: the advice is being set meanwhile)
		for _, f := range out[i].Findings {
			for _, id := range f.IDs {
				if strings.HasPrefix(id, "CVE-") {
					ids[id] = true
				}
			}
		}
	}
	if len(ids) == 0 {
		return func() error { return nil }
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	slices.Sort(list)
	type answer struct {
		facts map[string]store.VulnFacts
		err   error
	}
	got := make(chan answer, 1)
	go func() {
		facts, err := fs.VulnFacts(ctx, list)
		got <- answer{facts, err}
	}()
	return func() error {
		a := <-got
		if a.err != nil {
			return fmt.Errorf("enrichment data: %w", a.err)
		}
		for i := range out {
			for j := range out[i].Findings {
				applyFacts(&out[i].Findings[j], a.facts)
			}
		}
		return nil
	}
}

// applyFacts sets a finding's facts from those of its CVE IDs.
func applyFacts(f *Scored, facts map[string]store.VulnFacts) {
	var nvd []severity.Score
	for _, id := range f.IDs {
		x, ok := facts[id]
		if !ok {
			continue
		}
		if e := x.EPSS; e != nil && (f.EPSS == nil || e.EPSS > f.EPSS.EPSS) {
			f.EPSS = e
		}
		if k := x.KEV; k != nil && f.KEV == nil {
			f.KEV = k
		}
		if n := x.NVD; n != nil {
			for _, c := range n.CWEs {
				if !slices.Contains(f.CWEs, c) {
					f.CWEs = append(f.CWEs, c)
				}
			}
			if !n.Published.IsZero() && (f.Published.IsZero() || n.Published.Before(f.Published)) {
				f.Published = n.Published
			}
			if sc, ok := NVDSeverity(*n); ok {
				nvd = append(nvd, sc)
			}
		}
	}
	slices.Sort(f.CWEs)
	if !f.Severity.HasCVSS() && len(nvd) > 0 {
		f.Severity = severity.Pick([]severity.Score{f.Severity}, nvd)
	}
}

// NVDSeverity scores an NVD record's CVSS metrics as severity.BestVector
// does a record's: the newest CVSS version, NVD's own (Primary) metric
// before a CNA's of the same version.
func NVDSeverity(n store.NVDRecord) (severity.Score, bool) {
	ms := slices.Clone(n.Metrics)
	slices.SortStableFunc(ms, func(a, b store.CVSSMetric) int {
		return boolRank(a.Type == "Primary") - boolRank(b.Type == "Primary")
	})
	var list []osv.Severity
	for _, m := range ms {
		typ := osv.SeverityCVSSv3
		switch {
		case strings.HasPrefix(m.Version, "4"):
			typ = osv.SeverityCVSSv4
		case strings.HasPrefix(m.Version, "2"):
			typ = osv.SeverityCVSSv2
		}
		list = append(list, osv.Severity{Type: typ, Score: m.Vector})
	}
	sc, ok := severity.BestVector(severity.Vectors{Where: "NVD", List: list})
	if !ok {
		return sc, false
	}
	for _, m := range ms {
		if m.Vector == sc.Vector && m.Source != "" {
			sc.Source += " (" + m.Source + ")"
			break
		}
	}
	sc.Record, sc.Origin = n.ID, severity.OriginNVD
	return sc, true
}

func boolRank(b bool) int {
	if b {
		return 0
	}
	return 1
}
