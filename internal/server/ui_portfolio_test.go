package server

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
)

func TestNiceCeil(t *testing.T) {
	for n, want := range map[int]int{0: 2, 1: 2, 2: 2, 3: 5, 5: 5, 6: 10, 11: 20, 20: 20, 21: 50, 99: 100, 101: 200, 4999: 5000} {
		if got := niceCeil(n); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestDrawTrend(t *testing.T) {
	now := time.Date(2026, 3, 31, 15, 0, 0, 0, time.UTC)
	snaps := []store.PortfolioSnapshot{
		{Day: "2026-02-01", Findings: 99},                             // outside the window: left out
		{Day: "2026-03-02", Findings: 10, Critical: 2, Unassessed: 4}, // the window's first day
		{Day: "2026-03-16", Findings: 40, Critical: 5, High: 10},
		{Day: "2026-03-31", Findings: 30, Critical: 1, High: 7, Unassessed: 3},
	}
	c := drawTrend(snaps, now, 30)
	if len(c.Series) != 4 || c.Series[0].Name != "findings" || c.Points != 3 {
		t.Fatalf("series: %+v", c.Series)
	}
	f := c.Series[0]
	// x: first day at the left edge, the last at the right; y: 40 -> ymax
	// 50, so 40 is 4/5 of the height above the bottom.
	if f.Points != "44,138 325,42 628,74" || f.Last != 30 || len(f.Dots) != 3 || f.Dots[1].Title != "2026-03-16: 40 findings" {
		t.Fatalf("findings line: %+v", f)
	}
	if c.YTicks[2].Label != "50" || c.YTicks[2].Y != c.Top || c.XTicks[0].Label != "Mar 2" || c.XTicks[2].Label != "Mar 31" {
		t.Fatalf("ticks: %+v %+v", c.YTicks, c.XTicks)
	}
	if empty := drawTrend(nil, now, 30); empty.Series[0].Points != "" || empty.YTicks[2].Label != "2" {
		t.Fatalf("empty chart: %+v", empty)
	}
}

// TestDashboardPortfolio: the dashboard's portfolio section counts the
// projects, lists the most affected first and draws the stored daily
// snapshots with today's point taken live.
func TestDashboardPortfolio(t *testing.T) {
	e := newEnv(t)
	page := e.do(auth.Viewer, "GET", "/", nil)
	wantStatus(t, page, 200)
	if !strings.Contains(string(page.body), `id="portfolio-empty"`) {
		t.Fatal("the dashboard does not say there is no project")
	}
	e.mirror("Go")
	wantStatus(t, e.sendBody(auth.Admin, "PUT", "/api/v1/projects/web/versions/1.0?filename=p.txt", "text/plain", []byte(webPURLs)), 200)
	wantStatus(t, e.sendBody(auth.Admin, "PUT", "/api/v1/projects/tool/versions/1.0?filename=p.txt", "text/plain", []byte("pkg:golang/toolchain@1.16.0\n")), 200)
	wantStatus(t, e.sendBody(auth.Admin, "PUT", "/api/v1/projects/clean/versions/1.0?filename=p.txt", "text/plain", []byte("pkg:golang/example.com/clean@v1.0.0\n")), 200)
	ctx := context.Background()
	today := e.srv.assess.Now().UTC()
	for i, n := range []int{5, 3} {
		day := today.AddDate(0, 0, -(i+1)*3).Format(time.DateOnly)
		if err := e.st.PutPortfolioSnapshot(ctx, store.PortfolioSnapshot{Day: day, Projects: 1, Findings: n * 10, Critical: n, Taken: today}); err != nil {
			t.Fatal(err)
		}
	}
	// A stale snapshot of today is replaced by the live counts.
	if err := e.st.PutPortfolioSnapshot(ctx, store.PortfolioSnapshot{Day: today.Format(time.DateOnly), Findings: 1, Taken: today}); err != nil {
		t.Fatal(err)
	}

	page = e.do(auth.Viewer, "GET", "/", nil)
	wantStatus(t, page, 200)
	body := string(page.body)
	for _, want := range []string{`id="portfolio-projects">3<`, `id="trend-chart"`, `href="/projects/web"`} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	top := body[strings.Index(body, `id="most-affected"`):]
	top = top[:strings.Index(top, "</table>")]
	if strings.Contains(top, "/projects/clean") || strings.Index(top, "/projects/web") > strings.Index(top, "/projects/tool") {
		t.Errorf("most affected projects, web (more findings) first, clean left out:\n%s", top)
	}
	// Three days drawn (two stored, today live) in each of four series.
	if n := strings.Count(body, "<circle "); n != 12 {
		t.Errorf("%d points drawn, want 12", n)
	}
	findings := regexp.MustCompile(`id="portfolio-findings">(\d+)<`).FindStringSubmatch(body)
	if findings == nil || !strings.Contains(body, ": "+findings[1]+" findings</title>") || strings.Contains(body, ": 1 findings</title>") {
		t.Errorf("today's point is not the live count %v", findings)
	}
}
