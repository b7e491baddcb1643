package server

// A feed's package browser: every version the feed has seen, with its
// decision, what its download is told to upgrade to, and its open
// findings in the feed's scope, and the versions it hid from metadata
// (filter blocked) marked as such.

import (
	"context"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/store"
)

// browseVersion is one version of a package as the browser shows it.
type browseVersion struct {
	PURL, Name, Version, Ecosystem string
	Decision                       string // allow, warn, block, hidden, ...
	Hidden                         bool   // filtered out of metadata (never downloaded)
	Filtered                       bool   // downloaded or refused, and also filtered out of metadata
	HiddenWhy                      string
	Downloads, Refused             int64
	Findings                       []browseFinding
	MoreFindings                   int
	Upgrade                        *feedUpgradeJSON // what its download is told to upgrade to
}

type browseFinding struct{ ID, Rating string }

const (
	browseFindings = 6   // findings shown per version
	browseHidden   = 200 // hidden versions read from the audit
)

// feedBrowser completes a page of tracked packages with their findings and
// adds the versions hidden from metadata that are not tracked.
func (s *Server) feedBrowser(ctx context.Context, name string, page feedPackagePage) ([]browseVersion, error) {
	scope := feed.Scope(name)
	hidden, _, err := s.st.FeedDecisionPage(ctx, name, feed.EffectHidden, 0, browseHidden)
	if err != nil {
		return nil, err
	}
	filtered := map[string]string{}
	for _, d := range hidden {
		if _, ok := filtered[d.PURL]; !ok {
			filtered[d.PURL] = d.Reasons
		}
	}
	var out []browseVersion
	seen := map[string]bool{}
	for _, p := range page.Items {
		v := browseVersion{PURL: p.PURL, Name: p.Name, Version: p.Version, Ecosystem: p.Ecosystem, Decision: p.Decision,
			Downloads: p.Downloads, Refused: p.Refused, Upgrade: p.Upgrade}
		v.HiddenWhy, v.Filtered = filtered[p.PURL], filtered[p.PURL] != ""
		fs, err := s.st.Findings(ctx, store.FindingFilter{Scope: scope, PURL: p.PURL})
		if err != nil {
			return nil, err
		}
		slices.SortFunc(fs, func(a, b store.StoredFinding) int {
			if a.Score != b.Score {
				return b.Score - a.Score
			}
			return match.CompareIDs(a.VulnID, b.VulnID)
		})
		for i, f := range fs {
			if i == browseFindings {
				v.MoreFindings = len(fs) - i
				break
			}
			v.Findings = append(v.Findings, browseFinding{ID: f.VulnID, Rating: f.Rating})
		}
		seen[p.PURL] = true
		out = append(out, v)
	}
	for _, d := range hidden {
		if seen[d.PURL] {
			continue
		}
		seen[d.PURL] = true
		v := browseVersion{PURL: d.PURL, Decision: feed.EffectHidden, Hidden: true, HiddenWhy: d.Reasons}
		if p, err := purl.Parse(d.PURL); err == nil {
			v.Name, v.Version, v.Ecosystem = p.Name, p.Version, p.Ecosystem
		} else {
			v.Name = d.PURL
		}
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(a, b browseVersion) int {
		if n := strings.Compare(a.Name, b.Name); n != 0 {
			return n
		}
		return strings.Compare(a.Version, b.Version)
	})
	return out, nil
}
