package project

import (
	"context"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/store"
)

// Component is a version's component with its findings and the decision
// of the project's policy for it.
type Component struct {
	store.ProjectComponent
	// Verdicts holds the assessment (or unassessed effect) of each finding,
	// in the order of Findings.
	Verdicts []assess.Verdict
	Decision assess.Decision
}

// VersionView is one version with its components.
type VersionView struct {
	Version    store.ProjectVersion
	Counts     Counts
	Components []Component
}

// Version returns one version's components (all, or only vulnerable ones,
// or those with errors) with findings and decisions in the project's scope.
func (s *Service) Version(ctx context.Context, name, version string, onlyVulnerable bool) (VersionView, error) {
	v, err := s.st.ProjectVersion(ctx, name, version)
	if err != nil {
		return VersionView{}, err
	}
	comps, err := s.st.VersionComponents(ctx, v.ID, false)
	if err != nil {
		return VersionView{}, err
	}
	av, err := s.assessView(ctx)
	if err != nil {
		return VersionView{}, err
	}
	scope := Scope(name)
	idx := assess.NewIndex(scope, av.all)
	policy := av.pol.For(scope)
	out := VersionView{Version: v}
	var rows []store.PortfolioRow
	purls := map[string]bool{}
	for _, c := range comps {
		purls[c.PURL] = true
		fs := make([]assess.Finding, 0, len(c.Findings))
		for _, f := range c.Findings {
			fs = append(fs, assess.Finding{ID: f.VulnID, IDs: f.IDs, Severity: storedScore(f)})
			rows = append(rows, store.PortfolioRow{Project: name, VersionID: v.ID, PURL: c.PURL, Finding: f})
		}
		d := assess.Decide(c.PURL, fs, idx, policy, av.now)
		if onlyVulnerable && len(c.Findings) == 0 && len(c.Errors) == 0 {
			continue
		}
		out.Components = append(out.Components, Component{ProjectComponent: c, Verdicts: d.Findings, Decision: d})
	}
	out.Counts = av.countRows(name, rows)
	out.Counts.Components = len(purls)
	return out, nil
}

// DiffEntry is one finding in a comparison of two versions.
type DiffEntry struct {
	Package     string   `json:"package"` // ecosystem/name, or the PURL when not identifiable
	FromVersion string   `json:"from_version,omitempty"`
	ToVersion   string   `json:"to_version,omitempty"`
	VulnID      string   `json:"id"`
	IDs         []string `json:"ids"`
	Rating      string   `json:"rating"`
	Summary     string   `json:"summary"`
}

// Diff compares the open findings of two versions of a project: New are in
// To only, Fixed in From only (with the package's version in To, empty
// when it was removed), Unchanged in both (a package upgraded without
// fixing a vulnerability stays unchanged). Findings are compared
// by package (not version) and by any shared vulnerability ID.
type Diff struct {
	Project   string      `json:"project"`
	From      string      `json:"from"`
	To        string      `json:"to"`
	New       []DiffEntry `json:"new"`
	Fixed     []DiffEntry `json:"fixed"`
	Unchanged []DiffEntry `json:"unchanged"`
}

type diffItem struct {
	pkg, version string
	f            store.ProjectFinding
}

// diffItems returns a version's findings by package, and the version of
// each package it holds.
func (s *Service) diffItems(ctx context.Context, name, version string) ([]diffItem, map[string]string, error) {
	v, err := s.st.ProjectVersion(ctx, name, version)
	if err != nil {
		return nil, nil, err
	}
	comps, err := s.st.VersionComponents(ctx, v.ID, false)
	if err != nil {
		return nil, nil, err
	}
	var out []diffItem
	versions := map[string]string{}
	for _, c := range comps {
		pkg := c.PURL
		if c.Ecosystem != "" {
			pkg = c.Ecosystem + "/" + c.PkgName
		}
		versions[pkg] = c.Version
		for _, f := range c.Findings {
			out = append(out, diffItem{pkg: pkg, version: c.Version, f: f})
		}
	}
	return out, versions, nil
}

// Compare compares two versions of a project.
func (s *Service) Compare(ctx context.Context, name, from, to string) (Diff, error) {
	a, _, err := s.diffItems(ctx, name, from)
	if err != nil {
		return Diff{}, err
	}
	b, inTo, err := s.diffItems(ctx, name, to)
	if err != nil {
		return Diff{}, err
	}
	d := Diff{Project: name, From: from, To: to, New: []DiffEntry{}, Fixed: []DiffEntry{}, Unchanged: []DiffEntry{}}
	usedA := make([]bool, len(a))
	for _, y := range b {
		e := DiffEntry{Package: y.pkg, ToVersion: y.version, VulnID: y.f.VulnID, IDs: y.f.IDs, Rating: y.f.Rating, Summary: y.f.Summary}
		i := -1
		for k, x := range a {
			if !usedA[k] && x.pkg == y.pkg && slices.ContainsFunc(x.f.IDs, func(id string) bool { return slices.Contains(y.f.IDs, id) }) {
				i = k
				break
			}
		}
		if i >= 0 {
			usedA[i] = true
			e.FromVersion = a[i].version
			d.Unchanged = append(d.Unchanged, e)
			continue
		}
		d.New = append(d.New, e)
	}
	for i, x := range a {
		if !usedA[i] {
			// ToVersion: what the package became (empty: removed).
			d.Fixed = append(d.Fixed, DiffEntry{Package: x.pkg, FromVersion: x.version, ToVersion: inTo[x.pkg], VulnID: x.f.VulnID, IDs: x.f.IDs, Rating: x.f.Rating, Summary: x.f.Summary})
		}
	}
	for _, l := range [][]DiffEntry{d.New, d.Fixed, d.Unchanged} {
		slices.SortFunc(l, func(x, y DiffEntry) int {
			if c := strings.Compare(x.Package, y.Package); c != 0 {
				return c
			}
			return match.CompareIDs(x.VulnID, y.VulnID)
		})
	}
	return d, nil
}

// ProjectsAffectedBy returns the projects (name → versions) with an open
// finding carrying any of the IDs (a vulnerability's alias group).
func (s *Service) ProjectsAffectedBy(ctx context.Context, ids []string) (map[string][]string, error) {
	return s.st.ProjectsAffectedBy(ctx, ids)
}
