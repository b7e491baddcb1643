package match

import (
	"context"
	"slices"

	"github.com/vulngate/vulngate/internal/osv"

	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/store"
)

// GroupRecords looks records up by ID or alias across everything mirrored,
// whatever their ecosystem. When the scanner's Advisories also implement it
// (as *store.Store does), a finding whose own records carry no CVSS score
// takes its severity from the other records of its alias group: a GO record
// from the GHSA record that aliases the same CVE, a MAL or PYSEC record from
// its GHSA, and so on (severity.Pick, with Origin "alias" and the record's
// ID in Record).
type GroupRecords interface {
	// AdvisoriesByIDs returns the records; those for which have reports
	// true come without Data.
	AdvisoriesByIDs(ctx context.Context, ids []string, have func(part, id string) bool) ([]store.Advisory, error)
}

// deflatedGroupRecords is implemented by a store that can give records
// as stored (*store.Store): the scanner then inflates them on its workers.
type deflatedGroupRecords interface {
	AdvisoriesByIDsDeflated(ctx context.Context, ids []string, have func(part, id string) bool) ([]store.Advisory, error)
}

// groupSeverity completes the severity of findings without a CVSS score
// from the other mirrored records of their alias groups, in one batched
// lookup for the whole scan.
func (s *Scanner) groupSeverity(ctx context.Context, out []ComponentResult, cache *recordCache) error {
	gr, ok := s.src.(GroupRecords)
	if !ok {
		return nil
	}
	var need []*Scored
	ids := map[string]bool{}
	for i := range out {
		for j := range out[i].Findings {
			f := &out[i].Findings[j]
			if f.Severity.HasCVSS() {
				continue
			}
			need = append(need, f)
			for _, id := range f.IDs {
				ids[id] = true
			}
		}
	}
	if len(need) == 0 {
		return nil
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	slices.Sort(list)
	// Most of the group's records matched in this scan and are parsed
	// already: they are not inflated again. The others are read as stored
	// when the store can, inflated and parsed on the workers, and only
	// scored: they are not kept.
	var (
		advs     []store.Advisory
		deflated bool
		err      error
	)
	if d, ok := s.src.(deflatedGroupRecords); ok {
		advs, err = d.AdvisoriesByIDsDeflated(ctx, list, cache.has)
		deflated = true
	} else {
		advs, err = gr.AdvisoriesByIDs(ctx, list, cache.has)
	}
	if err != nil {
		return err
	}
	type scored struct {
		ids []string
		sc  severity.Score
		err error // a document that does not inflate
	}
	got := make([]scored, len(advs))
	// Each worker takes every s.workers-th record, inflating into a
	// buffer of its own.
	s.each(s.workers, func(w int) {
		var buf []byte
		for i := w; i < len(advs); i += s.workers {
			a := advs[i]
			if a.Data == nil {
				v, _, err := cache.get(a)
				if err != nil {
					continue // unreadable records are reported where they match
				}
				got[i] = scored{ids: v.IDs(), sc: cache.severityOf(v)}
				continue
			}
			var in *[]byte
			if deflated {
				in = &buf
			}
			v, stored, err := parseStored(a, in, true) // IDs and severities only
			if stored {
				got[i].err = err
				continue
			}
			if err != nil {
				continue
			}
			got[i] = scored{ids: v.IDs(), sc: severity.ForVulnerability(v)}
		}
	})
	byID := map[string][]severity.Score{} // ID or alias -> scores of the records carrying it
	for _, g := range got {
		if g.err != nil {
			return g.err
		}
		sc := g.sc
		if !sc.Known() {
			continue
		}
		sc.Origin = severity.OriginAlias
		for _, id := range g.ids {
			byID[id] = append(byID[id], sc)
		}
	}
	for _, f := range need {
		seen := map[string]bool{}
		for _, r := range f.Records {
			seen[r.ID] = true
		}
		var alias []severity.Score
		for _, id := range f.IDs {
			for _, sc := range byID[id] {
				if !seen[sc.Record] {
					seen[sc.Record] = true
					alias = append(alias, sc)
				}
			}
		}
		if len(alias) == 0 {
			continue
		}
		slices.SortFunc(alias, func(a, b severity.Score) int { return CompareIDs(a.Record, b.Record) })
		f.Severity = severity.Pick(ownScores(f.Finding, cache.severityOf), alias)
	}
	return nil
}

// ownScores are the severities of a finding's matched records, as sev
// gives them.
func ownScores(f Finding, sev func(*osv.Vulnerability) severity.Score) []severity.Score {
	out := make([]severity.Score, 0, len(f.Records))
	for _, v := range f.Records {
		out = append(out, sev(v))
	}
	return out
}
