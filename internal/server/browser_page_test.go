package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserPage drives one headless chromium (newBrowser) through a test:
// steps that save a screenshot when they fail, text reads, JavaScript
// polls, and numbered screenshots saved to $VULNGATE_TEST_ARTIFACTS/<dir>
// (else a temporary directory) for people to look at.
type browserPage struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int
}

func newBrowserPage(t *testing.T, ctx context.Context, timeout time.Duration, dir string) *browserPage {
	t.Helper()
	artifacts := os.Getenv("VULNGATE_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	artifacts = filepath.Join(artifacts, dir)
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browserPage{t: t, ctx: newBrowser(t, ctx, timeout), dir: artifacts}
}

// save writes a screenshot: the whole page, or the viewport only.
func (p *browserPage) save(name string, whole bool) {
	p.t.Helper()
	shot := chromedp.CaptureScreenshot()
	if whole {
		shot = chromedp.FullScreenshot(100) // 100: PNG
	}
	png, err := chromedp.Run(p.ctx, shot)
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	p.n++
	path := filepath.Join(p.dir, fmt.Sprintf("%02d-%s.png", p.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot %s", path)
}

// screenshot saves the whole page.
func (p *browserPage) screenshot(name string) { p.t.Helper(); p.save(name, true) }

// viewport saves what the window shows (for long pages, after scrolling).
func (p *browserPage) viewport(name string) { p.t.Helper(); p.save(name, false) }

// step runs actions; on failure it saves a screenshot and fails the test.
func (p *browserPage) step(name string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.screenshot("failed-" + name)
		p.t.Fatalf("%s: %v", name, err)
	}
}

// text returns the text of the first element matching sel.
//
// A page a click navigated to can still replace its document after the
// wait that followed the click matched (the node found is then gone by the
// time its text is read: "No node with given id found"); the read is
// tried again, a few times, on the new document.
func (p *browserPage) text(sel string) string {
	p.t.Helper()
	var s string
	var err error
	for try := 0; try < 5; try++ {
		if s, err = chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel))); err == nil || !strings.Contains(err.Error(), "No node with given id") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		p.screenshot("failed-text")
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// poll waits until the JavaScript expression is true.
func (p *browserPage) poll(name, expr string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](expr)); err != nil {
		p.screenshot("failed-" + name)
		p.t.Fatalf("%s: %v", name, err)
	}
}
