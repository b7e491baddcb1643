package project

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/store"
)

// Counts are a project's (or version's, or the portfolio's) metrics over
// its open findings. A finding is one vulnerability of one package URL:
// the same package in several versions of a project counts once.
type Counts struct {
	Components int `json:"components"` // distinct package URLs
	Vulnerable int `json:"vulnerable"` // of which with open findings
	Findings   int `json:"findings"`
	Critical   int `json:"critical"`
	High       int `json:"high"`
	Medium     int `json:"medium"`
	Low        int `json:"low"`
	Unknown    int `json:"unknown"` // no rating
	Malicious  int `json:"malicious"`
	Unassessed int `json:"unassessed"` // findings without an assessment in the project's scope or globally
	Blocked    int `json:"blocked"`    // components whose decision in the project's scope is block
}

func (c *Counts) add(o Counts) {
	c.Components += o.Components
	c.Vulnerable += o.Vulnerable
	c.Findings += o.Findings
	c.Critical += o.Critical
	c.High += o.High
	c.Medium += o.Medium
	c.Low += o.Low
	c.Unknown += o.Unknown
	c.Malicious += o.Malicious
	c.Unassessed += o.Unassessed
	c.Blocked += o.Blocked
}

func (c *Counts) rate(r string) {
	switch severity.Rating(r) {
	case severity.Critical:
		c.Critical++
	case severity.High:
		c.High++
	case severity.Medium:
		c.Medium++
	case severity.Low:
		c.Low++
	default:
		c.Unknown++
	}
}

// Summary is one row of the portfolio.
type Summary struct {
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	Tags         []string  `json:"tags"`
	Versions     int       `json:"versions"`
	Latest       string    `json:"latest_version"`
	Counts       Counts    `json:"counts"`
	LastAnalysis time.Time `json:"last_analysis"`
	Updated      time.Time `json:"updated"`
}

// Filter selects and orders portfolio rows.
type Filter struct {
	Q    string // substring of name or description, any letter case
	Tag  string
	Sort string // name (default), critical, high, findings, malicious, unassessed, blocked, analysis, updated
	Desc bool
}

// SortKeys lists the accepted Filter.Sort values.
var SortKeys = []string{"name", "critical", "high", "findings", "malicious", "unassessed", "blocked", "analysis", "updated"}

// assessView is what decisions need, loaded once per request.
type assessView struct {
	all []assess.Assessment
	pol assess.Policies
	now time.Time
}

func (s *Service) assessView(ctx context.Context) (assessView, error) {
	all, err := s.as.List(ctx, assess.ListFilter{})
	if err != nil {
		return assessView{}, err
	}
	pol, err := s.as.Policies(ctx)
	return assessView{all: all, pol: pol, now: s.now()}, err
}

// countRows computes Counts over open findings rows of one project.
func (v assessView) countRows(project string, rows []store.PortfolioRow) Counts {
	scope := Scope(project)
	idx := assess.NewIndex(scope, v.all)
	policy := v.pol.For(scope)
	var c Counts
	byPURL := map[string][]assess.Finding{}
	seen := map[string]bool{}
	var order []string
	for _, r := range rows {
		key := r.PURL + "\x00" + r.Finding.VulnID
		if seen[key] {
			continue
		}
		seen[key] = true
		c.Findings++
		c.rate(r.Finding.Rating)
		if r.Finding.Malicious {
			c.Malicious++
		}
		af := assess.Finding{ID: r.Finding.VulnID, IDs: r.Finding.IDs, Severity: storedScore(r.Finding)}
		if _, ok := idx.Lookup(af, v.now); !ok {
			c.Unassessed++
		}
		if _, ok := byPURL[r.PURL]; !ok {
			order = append(order, r.PURL)
		}
		byPURL[r.PURL] = append(byPURL[r.PURL], af)
	}
	c.Vulnerable = len(order)
	for _, p := range order {
		if assess.Decide(p, byPURL[p], idx, policy, v.now).Effect == assess.Block {
			c.Blocked++
		}
	}
	return c
}

// Portfolio returns one summary per project (filtered and sorted) and the
// totals over the rows returned.
func (s *Service) Portfolio(ctx context.Context, f Filter) ([]Summary, Counts, error) {
	var total Counts
	projects, err := s.st.Projects(ctx)
	if err != nil {
		return nil, total, err
	}
	versions, err := s.st.ProjectVersions(ctx)
	if err != nil {
		return nil, total, err
	}
	compCounts, err := s.st.ProjectComponentCounts(ctx)
	if err != nil {
		return nil, total, err
	}
	rows := map[string][]store.PortfolioRow{}
	if err := s.st.OpenProjectFindings(ctx, "", func(r store.PortfolioRow) error {
		rows[r.Project] = append(rows[r.Project], r)
		return nil
	}); err != nil {
		return nil, total, err
	}
	av, err := s.assessView(ctx)
	if err != nil {
		return nil, total, err
	}
	q := strings.ToLower(strings.TrimSpace(f.Q))
	var out []Summary
	for _, p := range projects {
		if q != "" && !strings.Contains(strings.ToLower(p.Name), q) && !strings.Contains(strings.ToLower(p.Description), q) {
			continue
		}
		if f.Tag != "" && !slices.Contains(p.Tags, f.Tag) {
			continue
		}
		sum := Summary{Name: p.Name, Description: p.Description, Tags: p.Tags, Updated: p.Updated, Counts: av.countRows(p.Name, rows[p.Name])}
		if sum.Tags == nil {
			sum.Tags = []string{}
		}
		sum.Counts.Components = compCounts[p.Name][1]
		for _, v := range versions { // newest upload first per project
			if v.Project != p.Name {
				continue
			}
			if sum.Versions == 0 {
				sum.Latest = v.Version
			}
			sum.Versions++
			if v.Analyzed.After(sum.LastAnalysis) {
				sum.LastAnalysis = v.Analyzed
			}
		}
		total.add(sum.Counts)
		out = append(out, sum)
	}
	sortSummaries(out, f.Sort, f.Desc)
	return out, total, nil
}

func sortSummaries(out []Summary, key string, desc bool) {
	by := func(a, b Summary) int {
		switch key {
		case "critical":
			return cmp.Compare(a.Counts.Critical, b.Counts.Critical)
		case "high":
			return cmp.Compare(a.Counts.High, b.Counts.High)
		case "findings":
			return cmp.Compare(a.Counts.Findings, b.Counts.Findings)
		case "malicious":
			return cmp.Compare(a.Counts.Malicious, b.Counts.Malicious)
		case "unassessed":
			return cmp.Compare(a.Counts.Unassessed, b.Counts.Unassessed)
		case "blocked":
			return cmp.Compare(a.Counts.Blocked, b.Counts.Blocked)
		case "analysis":
			return a.LastAnalysis.Compare(b.LastAnalysis)
		case "updated":
			return a.Updated.Compare(b.Updated)
		}
		return 0
	}
	slices.SortStableFunc(out, func(a, b Summary) int {
		n := by(a, b)
		if desc {
			n = -n
		}
		if n == 0 {
			n = strings.Compare(a.Name, b.Name)
		}
		return n
	})
}

// Snapshot records today's portfolio metrics (overwriting an earlier
// snapshot of the same day), for the dashboard's trend.
func (s *Service) Snapshot(ctx context.Context) error {
	rows, total, err := s.Portfolio(ctx, Filter{})
	if err != nil {
		return err
	}
	versions := 0
	for _, r := range rows {
		versions += r.Versions
	}
	now := s.now().UTC()
	return s.st.PutPortfolioSnapshot(ctx, store.PortfolioSnapshot{Day: now.Format(time.DateOnly), Projects: len(rows), Versions: versions,
		Components: total.Components, Vulnerable: total.Vulnerable, Findings: total.Findings, Critical: total.Critical, High: total.High,
		Medium: total.Medium, Low: total.Low, Unknown: total.Unknown, Malicious: total.Malicious, Unassessed: total.Unassessed,
		Blocked: total.Blocked, Taken: now})
}

// Trend returns the daily snapshots of the last days days, oldest first.
func (s *Service) Trend(ctx context.Context, days int) ([]store.PortfolioSnapshot, error) {
	return s.st.PortfolioSnapshots(ctx, s.now().UTC().AddDate(0, 0, -days+1).Format(time.DateOnly))
}
