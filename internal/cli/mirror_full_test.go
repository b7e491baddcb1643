package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// A forced re-import (mirror --full) writes every record again; the file
// must end no larger than after the first import (issue 16), and the
// records must be the same.
func TestMirrorFullLeavesFileNoLarger(t *testing.T) {
	dir := corpus.Dir(t)
	data := t.TempDir()
	size := func() int64 {
		var n int64
		for _, f := range []string{store.DBFile, store.DBFile + "-wal"} {
			if st, err := os.Stat(filepath.Join(data, f)); err == nil {
				n += st.Size()
			}
		}
		return n
	}
	args := []string{"--data-dir", data, "--log-level", "warn", "mirror", "--base-url", "file://" + dir, "--ecosystems", "Go,PyPI,npm"}
	if out, _, err := run(t, args...); err != nil {
		t.Fatalf("mirror: %v\n%s", err, out)
	}
	first := size()
	before := scanJSON(t, data, "pkg:golang/github.com/cosmwasm/wasmd@0.46.0")
	out, _, err := run(t, append(args, "--full")...)
	if err != nil || !strings.Contains(out, "compacted the database in ") {
		t.Fatalf("mirror --full: %v\n%s", err, out)
	}
	if after := size(); after > first {
		t.Fatalf("forced re-import: %d bytes, first import %d", after, first)
	}
	after := scanJSON(t, data, "pkg:golang/github.com/cosmwasm/wasmd@0.46.0")
	if len(before.Components[0].Findings) == 0 || len(after.Components[0].Findings) != len(before.Components[0].Findings) {
		t.Fatalf("findings before %d, after %d", len(before.Components[0].Findings), len(after.Components[0].Findings))
	}
}
