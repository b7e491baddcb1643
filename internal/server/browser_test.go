package server

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vulngate/vulngate/internal/testutil"
)

const chromiumPath = "/usr/bin/chromium"

// requireChromium fails (VULNGATE_REQUIRE_TOOLS=1) or skips without
// Debian's chromium.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		testutil.Unavailable(t, "browser test: %s not found; install it with: apt-get install -y chromium", chromiumPath)
	}
}

// newBrowser starts a headless chromium for the test, ended when the test
// ends or after timeout. Host names other than 127.0.0.1 resolve to
// nothing, so that a page that tries to leave (an open redirect) fails
// without a DNS query leaving the machine.
func newBrowser(t *testing.T, ctx context.Context, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	bctx, cancelTimeout := context.WithTimeout(bctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	})
	return bctx
}
