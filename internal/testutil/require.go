// Package testutil holds helpers shared by tests: Unavailable, the rule for
// a test whose external tool is missing (skip loudly, or fail under
// $VULNGATE_REQUIRE_TOOLS=1). Its subpackages serve the corpus, start
// PostgreSQL and an SMTP server, and open stores on both engines.
//
// It is test support only and is never linked into the binary.
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
