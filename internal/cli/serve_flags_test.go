package cli

import (
	"strings"
	"testing"
)

// TestServeRejectsNegativeMap: a negative --sqlite-mmap-mib is refused
// before the store is opened, naming the flag and the value.
func TestServeRejectsNegativeMap(t *testing.T) {
	_, _, err := run(t, "--data-dir", t.TempDir(), "serve", "--addr", "127.0.0.1:0", "--sqlite-mmap-mib", "-1")
	if err == nil || !strings.Contains(err.Error(), "--sqlite-mmap-mib -1") {
		t.Fatalf("err = %v, want one naming --sqlite-mmap-mib -1", err)
	}
}
