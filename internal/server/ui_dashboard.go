package server

// The dashboard's own sections (its layout is dashboard.html; the malicious
// and portfolio cards are partials of their own): the advisories by
// severity on a logarithmic scale, so that 3 beside 7,000 is still a bar;
// open recorded findings by severity with the unassessed and Blocked ones;
// the feeds' downloads and refusals today and over two weeks.

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

const (
	chartWidth    = 480 // px of the longest bar
	feedTrendDays = 14  // days of feed decisions shown
)

// logWidth is a bar's length for n on a log scale whose largest value is
// maxN: every non-zero count gets at least a few pixels, and each tenfold
// step the same length.
func logWidth(n, maxN int) int {
	if n <= 0 {
		return 0
	}
	w := int(math.Round(float64(chartWidth) * math.Log10(float64(n)+1) / math.Log10(float64(maxN)+1)))
	return max(w, 3)
}

// severityBars lays out one bar per category, log scaled.
func severityBars(counts map[string]int) []bar {
	maxN := 1
	for _, n := range counts {
		maxN = max(maxN, n)
	}
	var bars []bar
	for i, sev := range severities {
		n := counts[sev]
		w := logWidth(n, maxN)
		bars = append(bars, bar{Rating: sev, Label: strings.ToLower(sev), Count: n, Y: i * 28, TextY: i*28 + 15, Width: w, LabelX: 90 + w + 6})
	}
	return bars
}

// findingsBlock is the open recorded findings of every scope (projects,
// feeds, CLI scans with --project).
type findingsBlock struct {
	Total, Unassessed, Blocked int
	Bars                       []bar
}

func (s *Server) findingsOverview(ctx context.Context) (findingsBlock, error) {
	var b findingsBlock
	now := s.assess.Now().UTC()
	count := func(f store.FindingPageFilter) (int, error) {
		f.Now, f.Limit = now, 1
		_, n, err := s.st.ListOpenFindings(ctx, f)
		return n, err
	}
	counts := map[string]int{}
	for _, sev := range severities {
		n, err := count(store.FindingPageFilter{Ratings: []string{sev}})
		if err != nil {
			return b, err
		}
		counts[sev] = n
		b.Total += n
	}
	var err error
	if b.Unassessed, err = count(store.FindingPageFilter{Assessment: store.AssessedNone}); err != nil {
		return b, err
	}
	if b.Blocked, err = count(store.FindingPageFilter{Assessment: "Blocked"}); err != nil {
		return b, err
	}
	b.Bars = severityBars(counts)
	return b, nil
}

// feedDay is one day's gate decisions, laid out as a stacked column.
type feedDay struct {
	Day                  string
	Allow, Warn, Block   int
	X, YAllow, YWarn, YB int // SVG layout
	HAllow, HWarn, HB    int
}

type feedsBlock struct {
	Today          feedDay
	Days           []feedDay
	Max            int
	Hidden         int // versions filtered out of metadata today
	ChartW, ChartH int
}

func (s *Server) feedsOverview(ctx context.Context) (feedsBlock, error) {
	now := s.assess.Now().UTC()
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -(feedTrendDays - 1))
	rows, err := s.st.FeedDecisionDays(ctx, start)
	if err != nil {
		return feedsBlock{}, err
	}
	b := feedsBlock{ChartW: feedTrendDays * 28, ChartH: 110}
	byDay := map[string]*feedDay{}
	for i := range feedTrendDays {
		d := start.AddDate(0, 0, i).Format(time.DateOnly)
		b.Days = append(b.Days, feedDay{Day: d})
	}
	for i := range b.Days {
		byDay[b.Days[i].Day] = &b.Days[i]
	}
	today := now.Format(time.DateOnly)
	for _, r := range rows {
		d, ok := byDay[r.Day]
		if !ok {
			continue
		}
		switch r.Effect {
		case "allow":
			d.Allow += r.Count
		case "warn":
			d.Warn += r.Count
		case "block":
			d.Block += r.Count
		default:
			if r.Day == today {
				b.Hidden += r.Count
			}
		}
	}
	b.Max = 1
	for _, d := range b.Days {
		b.Max = max(b.Max, d.Allow+d.Warn+d.Block)
	}
	const plot = 90 // px of the tallest column
	for i := range b.Days {
		d := &b.Days[i]
		h := func(n int) int {
			if n == 0 {
				return 0
			}
			return max(2, n*plot/b.Max)
		}
		d.X = i * 28
		d.HAllow, d.HWarn, d.HB = h(d.Allow), h(d.Warn), h(d.Block)
		d.YAllow = 95 - d.HAllow
		d.YWarn = d.YAllow - d.HWarn
		d.YB = d.YWarn - d.HB
		if d.Day == today {
			b.Today = *d
		}
	}
	return b, nil
}

// shortDay renders "2026-12-03" as "Dec 3".
func shortDay(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return fmt.Sprintf("%s %d", t.Month().String()[:3], t.Day())
}
