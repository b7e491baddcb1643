package server

// The dashboard's portfolio section (partial _portfolio.html): the
// portfolio's counts, the most affected projects, and the trend of the
// daily snapshots (portfolio_snapshot) drawn as a server-rendered SVG line
// chart. The dashboard's layout is dashboard.html's; this file only
// supplies the section's data.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/project"
	"github.com/vulngate/vulngate/internal/store"
)

// trendDays is the window of the dashboard's trend chart.
const trendDays = 30

// mostAffected is how many projects the dashboard lists.
const mostAffected = 5

// portfolioBlock is the data of the dashboard's portfolio section.
type portfolioBlock struct {
	Projects     int
	Versions     int
	Totals       project.Counts
	Top          []project.Summary // most affected first
	LastAnalysis time.Time
	Trend        trendChart
}

// portfolioDashboard computes the portfolio section: live counts, and the
// snapshots of the last trendDays days with today's point taken live (the
// stored snapshot of today may predate uploads made since).
func (s *Server) portfolioDashboard(ctx context.Context) (portfolioBlock, error) {
	var b portfolioBlock
	rows, total, err := s.projects.Portfolio(ctx, project.Filter{})
	if err != nil {
		return b, err
	}
	if b.LastAnalysis, err = s.projects.LastAnalysis(ctx); err != nil {
		return b, err
	}
	b.Projects, b.Totals = len(rows), total
	for _, r := range rows {
		b.Versions += r.Versions
		if r.Counts.Findings > 0 {
			b.Top = append(b.Top, r)
		}
	}
	slices.SortStableFunc(b.Top, func(x, y project.Summary) int {
		return cmp.Or(-cmp.Compare(x.Counts.Malicious, y.Counts.Malicious), -cmp.Compare(x.Counts.Critical, y.Counts.Critical),
			-cmp.Compare(x.Counts.High, y.Counts.High), -cmp.Compare(x.Counts.Findings, y.Counts.Findings), strings.Compare(x.Name, y.Name))
	})
	b.Top = b.Top[:min(len(b.Top), mostAffected)]
	snaps, err := s.projects.Trend(ctx, trendDays)
	if err != nil {
		return b, err
	}
	now := s.assess.Now().UTC()
	today := store.PortfolioSnapshot{Day: now.Format(time.DateOnly), Projects: b.Projects, Versions: b.Versions, Components: total.Components,
		Vulnerable: total.Vulnerable, Findings: total.Findings, Critical: total.Critical, High: total.High, Medium: total.Medium, Low: total.Low,
		Unknown: total.Unknown, Malicious: total.Malicious, Unassessed: total.Unassessed, Blocked: total.Blocked}
	if n := len(snaps); n > 0 && snaps[n-1].Day == today.Day {
		snaps = snaps[:n-1]
	}
	if b.Projects > 0 || len(snaps) > 0 {
		snaps = append(snaps, today)
	}
	b.Trend = drawTrend(snaps, now, trendDays)
	return b, nil
}

// trendChart is an SVG line chart of the portfolio's daily counts.
type trendChart struct {
	Width, Height int
	Left, Right   int // plot area's x range
	Top, Bottom   int // plot area's y range
	Series        []trendSeries
	YTicks        []chartTick
	XTicks        []chartTick
	Points        int // days with a snapshot
}

// trendSeries is one line: its polyline points and a dot per day.
type trendSeries struct {
	Name, Class string
	Points      string // "x,y x,y ..." for <polyline>
	Dots        []chartDot
	Last        int // the newest value, for the legend
}

type chartDot struct {
	X, Y  int
	Title string
}

type chartTick struct {
	X, Y          int
	Label, Anchor string
}

// drawTrend lays out snapshots (oldest first) over the days days ending
// today: one x position per day, gaps where a day has no snapshot.
func drawTrend(snaps []store.PortfolioSnapshot, now time.Time, days int) trendChart {
	c := trendChart{Width: 640, Height: 200, Left: 44, Right: 628, Top: 10, Bottom: 170}
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -(days - 1))
	series := []struct {
		name, class string
		value       func(store.PortfolioSnapshot) int
	}{
		{"findings", "trend-findings", func(p store.PortfolioSnapshot) int { return p.Findings }},
		{"critical", "trend-CRITICAL", func(p store.PortfolioSnapshot) int { return p.Critical }},
		{"high", "trend-HIGH", func(p store.PortfolioSnapshot) int { return p.High }},
		{"unassessed", "trend-unassessed", func(p store.PortfolioSnapshot) int { return p.Unassessed }},
	}
	x := func(day string) (int, bool) {
		t, err := time.Parse(time.DateOnly, day)
		if err != nil {
			return 0, false
		}
		i := int(t.Sub(start).Hours() / 24)
		if i < 0 || i >= days {
			return 0, false
		}
		return c.Left + i*(c.Right-c.Left)/max(days-1, 1), true
	}
	top := 0
	for _, p := range snaps {
		if _, ok := x(p.Day); ok {
			for _, sr := range series {
				top = max(top, sr.value(p))
			}
		}
	}
	ymax := niceCeil(top)
	y := func(v int) int { return c.Bottom - v*(c.Bottom-c.Top)/ymax }
	for _, v := range []int{0, ymax / 2, ymax} {
		c.YTicks = append(c.YTicks, chartTick{X: c.Left - 6, Y: y(v), Label: fmt.Sprint(v), Anchor: "end"})
	}
	for k, i := range []int{0, days / 2, days - 1} {
		d := start.AddDate(0, 0, i)
		c.XTicks = append(c.XTicks, chartTick{X: c.Left + i*(c.Right-c.Left)/max(days-1, 1), Y: c.Bottom + 18, Label: d.Format("Jan 2"), Anchor: []string{"start", "middle", "end"}[k]})
	}
	for _, sr := range series {
		ts := trendSeries{Name: sr.name, Class: sr.class}
		var pts []string
		for _, p := range snaps {
			px, ok := x(p.Day)
			if !ok {
				continue
			}
			v := sr.value(p)
			pts = append(pts, fmt.Sprintf("%d,%d", px, y(v)))
			ts.Dots = append(ts.Dots, chartDot{X: px, Y: y(v), Title: fmt.Sprintf("%s: %d %s", p.Day, v, sr.name)})
			ts.Last = v
		}
		c.Points = len(ts.Dots)
		ts.Points = strings.Join(pts, " ")
		c.Series = append(c.Series, ts)
	}
	return c
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten (at least 2, so
// that the middle tick is a whole number).
func niceCeil(n int) int {
	if n <= 2 {
		return 2
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}
