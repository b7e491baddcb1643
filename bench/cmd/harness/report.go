package main

// The markdown report and its formatting helpers.

import (
	"cmp"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/vulngate/vulngate/bench/internal/gensbom"
	"github.com/vulngate/vulngate/bench/internal/runstats"
)

// ---- report ----

func (h *harness) report() error {
	var b strings.Builder
	fmt.Fprintf(&b, "# vulngate benchmark\n\n%s · corpus `%s` · %d ecosystems, %s records · scale %s · %d CPUs · load average at start %s, at end %s · %s\n\n",
		time.Now().UTC().Format(time.RFC3339), h.cfg.corpus, len(h.ecos), commas(h.total), commas(h.cfg.scale), runtime.NumCPU(), h.loadStart, runstats.LoadAvg(1), h.freshPages)
	b.WriteString("| metric | vulngate | peer | ratio | target |\n|---|---|---|---|---|\n")
	for _, r := range h.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.metric, r.vulngate, dash(r.peer), dash(r.ratio), dash(r.target))
	}
	b.WriteString("\nPeer: osv-scanner v2.6.0 (offline, same corpus zips) for the scan; there is no peer for imports. Peak RSS is the measured process's maxrss. ✔ = target met, ✘ = missed.\n")
	for _, n := range h.notes {
		b.WriteString("\n" + n + "\n")
	}
	b.WriteString("\n## Details\n")
	for _, d := range h.details {
		b.WriteString("\n" + d)
	}
	fmt.Fprintf(&b, "\nLogs of every measured process: `%s`.\n", filepath.Join(h.cfg.work, "logs"))
	out := b.String()
	fmt.Print(out)
	path := filepath.Join(h.cfg.work, "report.md")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		return err
	}
	log.Printf("report written to %s", path)
	return nil
}

// ---- helpers ----

func mib(r run) string { return fmt.Sprintf("%.1f MiB", r.MiB()) }

func mark(ok bool, target string) string {
	if ok {
		return target + " ✔"
	}
	return target + " ✘"
}

func dash(s string) string { return cmp.Or(s, "–") }

func commas(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + " …"
}

func truncList(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("… (%d more)", len(s)-n))
}

// summary is what a run printed on stdout, or the end of its stderr if
// stdout is empty.
func summary(r run) string {
	if out := readTrim(r.Stdout); out != "" {
		return out
	}
	errOut := readTrim(r.Stderr)
	return errOut[max(0, len(errOut)-3000):]
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func sbomName(c gensbom.Component) string {
	_, n := c.SBOMGroupName()
	return n
}
