// Package testutil holds helpers shared by tests. It is never linked into
// the binary.
package testutil

import (
	"fmt"
	"os"
	"testing"
)

// Unavailable skips a test whose external tool (a browser, a package
// client) is missing, loudly; with $VULNGATE_REQUIRE_TOOLS=1 (as in CI)
// it fails instead, so that CI never passes by skipping.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("VULNGATE_REQUIRE_TOOLS") == "1" {
		t.Fatalf("required tool unavailable: %s", msg)
	}
	t.Skipf("\n*** SKIPPED: %s ***\n", msg)
}
