package main

// The incremental refresh step: a delta over HTTP against a full Go import.

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/bench/internal/bucket"
)

// ---- 2. incremental refresh ----

func (h *harness) deltaStep() error {
	metric := "Incremental refresh of Go (delta / full Go import)"
	dataDir := filepath.Join(h.cfg.work, "data-go")
	full, err := h.mirror("delta-base-full-go", dataDir, fileURL(h.cfg.corpus), []string{"Go"})
	if err != nil {
		h.rows = append(h.rows, row{metric, "not run", "", "", "≤ 5%"})
		return err
	}
	srv := bucket.Start(filepath.Join(h.cfg.corpus, "delta"))
	defer srv.Close()
	d, err := h.measure("delta-refresh-go", nil, nil, h.vulngate, "mirror", "--data-dir", dataDir, "--base-url", srv.URL, "--ecosystems", "Go")
	if err != nil {
		h.rows = append(h.rows, row{metric, "failed", "", "", "≤ 5%"})
		return err
	}
	reqs := srv.Requests()
	srv.Reset()
	noop, noopErr := h.measure("delta-refresh-go-noop", nil, nil, h.vulngate, "mirror", "--data-dir", dataDir, "--base-url", srv.URL, "--ecosystems", "Go")
	noopReqs := srv.Requests()

	ratio := d.Wall.Seconds() / full.Wall.Seconds()
	ratioCell := fmt.Sprintf("%.1f%%", 100*ratio)
	if noopErr == nil && full.Wall > noop.Wall {
		// The fixed cost of a run (process start, opening the store, fetching
		// ecosystems.txt and modified_id.csv) is what a no-op refresh takes.
		net := max(0, (d.Wall-noop.Wall).Seconds()) / (full.Wall - noop.Wall).Seconds()
		ratioCell += fmt.Sprintf(" (%.1f%% net of the no-op run's %.3f s)", 100*net, noop.Wall.Seconds())
	}
	h.rows = append(h.rows,
		row{metric, fmt.Sprintf("%.3f s", d.Wall.Seconds()), fmt.Sprintf("full Go import: %.3f s", full.Wall.Seconds()),
			ratioCell, mark(ratio <= 0.05, "≤ 5%")})
	if h.fullWall > 0 {
		// The reading: the delta refresh against the full import of
		// the shared corpus (the previous row of the report).
		r := d.Wall.Seconds() / h.fullWall.Seconds()
		h.rows = append(h.rows, row{"Incremental refresh of Go / full import of the corpus", fmt.Sprintf("%.3f s", d.Wall.Seconds()),
			fmt.Sprintf("full corpus import: %.3f s", h.fullWall.Seconds()), fmt.Sprintf("%.1f%%", 100*r), mark(r <= 0.05, "≤ 5%")})
	}
	h.rows = append(h.rows,
		row{"Incremental refresh: HTTP requests served (bytes)", fmt.Sprintf("%d (%s B)", len(reqs), commas(int(sumBytes(reqs)))), "", "", ""},
	)
	var b strings.Builder
	fmt.Fprintf(&b, "### Incremental refresh (Go)\n\nBase: full import of `%s/Go` via file:// in %.3f s (peak RSS %s). "+
		"Delta: the same data dir mirrored again from a local HTTP server serving `delta/` (with per-record `Go/<ID>.json` extracted from `delta/Go/all.zip`) in %.3f s (peak RSS %s), ratio %.1f%%.\n\n",
		h.cfg.corpus, full.Wall.Seconds(), mib(full), d.Wall.Seconds(), mib(d), 100*ratio)
	b.WriteString(requestSummary("Requests during the delta refresh", reqs))
	if noopErr == nil {
		fmt.Fprintf(&b, "\nA second refresh with nothing new took %.3f s and made %d request(s).\n\n", noop.Wall.Seconds(), len(noopReqs))
		b.WriteString(requestSummary("Requests during the no-op refresh", noopReqs))
	} else {
		fmt.Fprintf(&b, "\nThe no-op refresh failed: %v\n", noopErr)
	}
	fmt.Fprintf(&b, "\nvulngate's summary of the delta run:\n\n```\n%s\n```\n", truncate(summary(d), 3000))
	h.details = append(h.details, b.String())
	return nil
}

func sumBytes(reqs []bucket.Request) int64 {
	var n int64
	for _, r := range reqs {
		n += r.Bytes
	}
	return n
}

// requestSummary groups requests by kind of path and status.
func requestSummary(title string, reqs []bucket.Request) string {
	type k struct {
		kind   string
		status int
	}
	counts := map[k]int{}
	bytes := map[k]int64{}
	for _, r := range reqs {
		kind := r.Method + " " + r.Path
		if strings.HasSuffix(r.Path, ".json") {
			kind = r.Method + " /<Eco>/<ID>.json"
		}
		counts[k{kind, r.Status}]++
		bytes[k{kind, r.Status}] += r.Bytes
	}
	keys := make([]k, 0, len(counts))
	for x := range counts {
		keys = append(keys, x)
	}
	slices.SortFunc(keys, func(a, b k) int { return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.status, b.status)) })
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d):\n\n| request | status | count | bytes |\n|---|---:|---:|---:|\n", title, len(reqs))
	for _, x := range keys {
		fmt.Fprintf(&b, "| `%s` | %d | %d | %s |\n", x.kind, x.status, counts[x], commas(int(bytes[x])))
	}
	return b.String()
}

// spec is a command timed several times.
