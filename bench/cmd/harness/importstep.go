package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ---- 1. full import, forced re-import, unchanged refresh ----

// importStep imports the whole corpus -import-runs times into fresh data
// dirs (min and median wall reported), then on the last one: a forced
// re-import (file size compared with the first import's) and unchanged
// refreshes of every ecosystem.
func (h *harness) importStep() error {
	metric := fmt.Sprintf("Full import, %d ecosystems (%s records): advisories/s at the median wall time (min)", len(h.ecos), commas(h.total))
	var runs []run
	dataDir := filepath.Join(h.cfg.work, "data-full")
	for i := range max(1, h.cfg.importRuns) {
		r, err := h.mirror(fmt.Sprintf("import-full-%d", i+1), dataDir, fileURL(h.cfg.corpus), h.ecos)
		if err != nil {
			h.rows = append(h.rows, row{metric, "failed", "n/a", "", "≥ 50,000/s"})
			return err
		}
		runs = append(runs, r)
	}
	med, fastest := median(runs), slices.MinFunc(runs, func(a, b run) int { return int(a.Wall - b.Wall) })
	h.fullData, h.fullWall = dataDir, med.Wall
	rate := float64(h.total) / med.Wall.Seconds()
	size := dbSize(dataDir)
	h.rows = append(h.rows,
		row{metric, fmt.Sprintf("%s/s (%.2f s); min %.2f s = %s/s", commas(int(rate)), med.Wall.Seconds(), fastest.Wall.Seconds(), commas(int(float64(h.total)/fastest.Wall.Seconds()))),
			"raw limit", "", mark(rate >= 50000, "≥ 50,000/s")},
		h.inflateFloorRow(med),
		row{"Full import: CPU user+sys (median); µs of CPU per advisory", fmt.Sprintf("%.2f s; %.0f µs", medianCPU(runs).Seconds(), 1e6*medianCPU(runs).Seconds()/float64(h.total)), "", "", ""},
		row{"Full import: peak RSS (max over runs)", fmt.Sprintf("%.1f MiB", float64(maxKiB(runs))/1024), "", "", rssTarget(maxKiB(runs))},
		row{"Database size after the import; per advisory", fmt.Sprintf("%.1f MiB; %s B", float64(size)/(1<<20), commas(int(size/int64(max(1, h.total))))), "", "", "reported"},
	)
	var b strings.Builder
	fmt.Fprintf(&b, "### Full import\n\n`vulngate mirror --base-url %s --ecosystems <all %d>` into a fresh data dir, %d times: wall/cpu (s)", fileURL(h.cfg.corpus), len(h.ecos), len(runs))
	for _, r := range runs {
		fmt.Fprintf(&b, " %.3f/%.3f", r.Wall.Seconds(), r.CPU.Seconds())
	}
	fmt.Fprintf(&b, "; %s records; database %s bytes.\n\n", commas(h.total), commas(int(size)))
	b.WriteString("| ecosystem | zip entries |\n|---|---:|\n")
	for _, e := range h.ecos {
		fmt.Fprintf(&b, "| %s | %s |\n", e, commas(h.counts[e]))
	}
	fmt.Fprintf(&b, "\nvulngate's summary:\n\n```\n%s\n```\n", truncate(summary(med), 3000))

	// Forced re-import: the file must not grow.
	if h.vulngate != "" {
		r, err := h.measure("import-forced", nil, nil, h.vulngate, "mirror", "--full", "--data-dir", dataDir, "--base-url", fileURL(h.cfg.corpus), "--ecosystems", strings.Join(h.ecos, ","))
		if err == nil {
			after := dbSize(dataDir)
			x := float64(after) / float64(size)
			h.rows = append(h.rows, row{"Forced re-import (--full): database size after / after the first import",
				fmt.Sprintf("%.1f MiB (%.2f s)", float64(after)/(1<<20), r.Wall.Seconds()), fmt.Sprintf("first import: %.1f MiB", float64(size)/(1<<20)),
				fmt.Sprintf("%.3f", x), mark(x <= 1, "≤ 1")})
			fmt.Fprintf(&b, "\nForced re-import of every ecosystem: %.3f s wall, %.3f s CPU; database %s bytes after (first import %s).\n", r.Wall.Seconds(), r.CPU.Seconds(), commas(int(after)), commas(int(size)))
		} else {
			h.notes = append(h.notes, fmt.Sprintf("**forced re-import failed:** %v", err))
		}
		var noop []run
		for i := range 3 {
			r, err := h.measure(fmt.Sprintf("refresh-unchanged-%d", i+1), nil, nil, h.vulngate, "mirror", "--data-dir", dataDir, "--base-url", fileURL(h.cfg.corpus), "--ecosystems", strings.Join(h.ecos, ","))
			if err != nil {
				h.notes = append(h.notes, fmt.Sprintf("**unchanged refresh failed:** %v", err))
				break
			}
			noop = append(noop, r)
		}
		if len(noop) > 0 {
			m := median(noop)
			h.rows = append(h.rows, row{fmt.Sprintf("Unchanged refresh of all %d ecosystems (median of %d)", len(h.ecos), len(noop)),
				fmt.Sprintf("%.3f s (cpu %.3f s)", m.Wall.Seconds(), m.CPU.Seconds()), "raw limit", "", mark(m.Wall <= 200*time.Millisecond, "≤ 0.2 s")})
			fmt.Fprintf(&b, "\nUnchanged refresh (nothing new upstream) of all ecosystems:\n\n```\n%s\n```\n", truncate(summary(m), 3000))
		}
	}
	h.details = append(h.details, b.String())
	return nil
}

// dbSize is the size of the SQLite database with its WAL.
func dbSize(dataDir string) int64 {
	var n int64
	for _, f := range []string{"vulngate.db", "vulngate.db-wal"} {
		if st, err := os.Stat(filepath.Join(dataDir, f)); err == nil {
			n += st.Size()
		}
	}
	return n
}

// inflateFloorRow measures the import's raw limit three times (inflateFloor)
// and reports its median against the import's median run: how much of the
// import's time (and of the target's budget) inflating the records alone
// takes on this machine.
func (h *harness) inflateFloorRow(imp run) row {
	metric := "Full import's raw limit: every record inflated and nothing else (a fresh process on all CPUs, timed inside it)"
	var floors []run
	for i := range 3 {
		r, err := h.inflateFloor(fmt.Sprintf("import-inflate-floor-%d", i+1))
		if err != nil {
			return row{metric, "failed: " + truncate(err.Error(), 200), "", "", "–"}
		}
		floors = append(floors, r)
	}
	wall, cpu, ok := medianOwn(floors, inflateLine)
	if !ok || wall <= 0 {
		return row{metric, "not measured", "", "", "–"}
	}
	budget := time.Duration(float64(h.total) / 50000 * float64(time.Second))
	return row{metric, fmt.Sprintf("%.3f s, %.3f s CPU (%s/s)", wall.Seconds(), cpu.Seconds(), commas(int(float64(h.total)/wall.Seconds()))),
		fmt.Sprintf("the import's median: %.3f s, %.3f s CPU", imp.Wall.Seconds(), imp.CPU.Seconds()),
		fmt.Sprintf("import %.1f× the floor; the floor is %.0f%% of the 50,000/s budget (%.3f s)", imp.Wall.Seconds()/wall.Seconds(), 100*wall.Seconds()/budget.Seconds(), budget.Seconds()), "–"}
}
