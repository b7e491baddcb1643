package main

// The incremental refresh step: a delta over HTTP against a full Go import.

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vulngate/vulngate/bench/internal/bucket"
	"github.com/vulngate/vulngate/bench/internal/runstats"
)

// ---- 2. incremental refresh ----

// deltaStep imports Go in full and refreshes it from delta/ h.cfg.runs
// times (full, delta, full, delta, ...: each refresh on its own freshly
// imported data dir), then refreshes once more with nothing new. Each
// figure is a median. It reports two readings of the same runs: the
// measured processes (start, store open and sync) and the sync alone as
// the mirror times it inside the process (vulngate's "synced in" line),
// which is what the server's scheduled mirror job spends on a refresh.
func (h *harness) deltaStep() error {
	metric := "Incremental refresh of Go, whole process (delta / full Go import)"
	inMetric := "Incremental refresh of Go, the sync inside the process (delta / full Go import; as the server's mirror job runs it)"
	srv := bucket.Start(filepath.Join(h.cfg.corpus, "delta"))
	defer srv.Close()
	var fulls, deltas, floors []run
	var floorErr error
	var reqs []bucket.Request
	var dataDir string
	for i := range max(1, h.cfg.runs) {
		dataDir = filepath.Join(h.cfg.work, fmt.Sprintf("data-go-%d", i))
		full, err := h.mirror(fmt.Sprintf("delta-base-full-go-%d", i), dataDir, fileURL(h.cfg.corpus), []string{"Go"})
		if err != nil {
			h.rows = append(h.rows, row{metric, "not run", "", "", "≤ 5%"})
			return err
		}
		srv.Reset()
		d, err := h.measure(fmt.Sprintf("delta-refresh-go-%d", i), nil, nil, h.vulngate, "mirror", "--data-dir", dataDir, "--base-url", srv.URL, "--ecosystems", "Go")
		if err != nil {
			h.rows = append(h.rows, row{metric, "failed", "", "", "≤ 5%"})
			return err
		}
		reqs = srv.Requests()
		fulls, deltas = append(fulls, full), append(deltas, d)
		// The raw limit: the refresh's requests alone, right after it.
		if fl, err := h.httpFloor(fmt.Sprintf("delta-http-floor-%d", i), srv.URL, reqs); err != nil {
			floorErr = err
		} else {
			floors = append(floors, fl)
		}
	}
	srv.Reset()
	noop, noopErr := h.measure("delta-refresh-go-noop", nil, nil, h.vulngate, "mirror", "--data-dir", dataDir, "--base-url", srv.URL, "--ecosystems", "Go")
	noopReqs := srv.Requests()

	full, d := median(fulls), median(deltas)
	fullCPU, dCPU := medianCPU(fulls), medianCPU(deltas)
	ratio := d.Wall.Seconds() / full.Wall.Seconds()
	ratioCell := fmt.Sprintf("%.1f%% wall, %.1f%% CPU", 100*ratio, 100*dCPU.Seconds()/fullCPU.Seconds())
	if noopErr == nil && full.Wall > noop.Wall {
		// The fixed cost of a run (process start, opening the store, fetching
		// ecosystems.txt and modified_id.csv) is what a no-op refresh takes.
		net := max(0, (d.Wall-noop.Wall).Seconds()) / (full.Wall - noop.Wall).Seconds()
		ratioCell += fmt.Sprintf(" (%.1f%% net of the no-op run's %.3f s)", 100*net, noop.Wall.Seconds())
	}
	h.rows = append(h.rows,
		row{metric, fmt.Sprintf("%.3f s, %.3f s CPU", d.Wall.Seconds(), dCPU.Seconds()),
			fmt.Sprintf("full Go import: %.3f s, %.3f s CPU", full.Wall.Seconds(), fullCPU.Seconds()),
			ratioCell, mark(ratio <= 0.05, "≤ 5%")})
	fullSync, fullSyncCPU, okF := medianSync(fulls)
	dSync, dSyncCPU, okD := medianSync(deltas)
	if okF && okD {
		r := dSync.Seconds() / fullSync.Seconds()
		cell := fmt.Sprintf("%.1f%% wall", 100*r)
		if fullSyncCPU > 0 {
			cell += fmt.Sprintf(", %.1f%% CPU", 100*dSyncCPU.Seconds()/fullSyncCPU.Seconds())
		}
		h.rows = append(h.rows, row{inMetric, fmt.Sprintf("%.1f ms, %.1f ms CPU", ms(dSync), ms(dSyncCPU)),
			fmt.Sprintf("full Go import's sync: %.1f ms, %.1f ms CPU", ms(fullSync), ms(fullSyncCPU)), cell, mark(r <= 0.05, "≤ 5%")})
	} else {
		h.rows = append(h.rows, row{inMetric, "no \"synced in\" line in vulngate's summary", "", "", "≤ 5%"})
	}
	h.floorRows(fulls, deltas, floors, floorErr)
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
	fmt.Fprintf(&b, "### Incremental refresh (Go)\n\n%d runs, medians. Base: full import of `%s/Go` via file:// in %.3f s (peak RSS %s). "+
		"Delta: the same data dir mirrored again from a local HTTP server serving `delta/` (with per-record `Go/<ID>.json` extracted from `delta/Go/all.zip`) in %.3f s (peak RSS %s), ratio %.1f%%.\n\n",
		len(deltas), h.cfg.corpus, full.Wall.Seconds(), mib(full), d.Wall.Seconds(), mib(d), 100*ratio)
	fmt.Fprintf(&b, "The sync alone (vulngate's \"synced in\" line: the refresh without the process start and the store's opening, as the server's scheduled mirror job runs it): "+
		"delta %s, full Go import %s.\n\n", syncList(deltas), syncList(fulls))
	b.WriteString(requestSummary("Requests during the (last) delta refresh", reqs))
	if noopErr == nil {
		fmt.Fprintf(&b, "\nA second refresh with nothing new took %.3f s and made %d request(s).\n\n", noop.Wall.Seconds(), len(noopReqs))
		b.WriteString(requestSummary("Requests during the no-op refresh", noopReqs))
	} else {
		fmt.Fprintf(&b, "\nThe no-op refresh failed: %v\n", noopErr)
	}
	fmt.Fprintf(&b, "\nvulngate's summary of the median delta run:\n\n```\n%s\n```\n", truncate(summary(d), 3000))
	h.details = append(h.details, b.String())
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// syncTime reads the sync's own wall and CPU time from the "synced in"
// line of vulngate mirror's summary ("synced in 12.3ms, 10.1ms CPU (…)").
func syncTime(r run) (wall, cpu time.Duration, ok bool) { return ownTime(r, "synced in ") }

// ownTime reads the wall and CPU time a process printed of itself on the
// line starting with prefix ("<prefix>12.3ms, 10.1ms CPU …").
func ownTime(r run, prefix string) (wall, cpu time.Duration, ok bool) {
	for line := range strings.SplitSeq(readTrim(r.Stdout), "\n") {
		rest, found := strings.CutPrefix(line, prefix)
		if !found {
			continue
		}
		fields := strings.Fields(strings.ReplaceAll(rest, ",", " "))
		if len(fields) == 0 {
			return 0, 0, false
		}
		wall, err := time.ParseDuration(fields[0])
		if err != nil {
			return 0, 0, false
		}
		if len(fields) > 2 && fields[2] == "CPU" {
			cpu, _ = time.ParseDuration(fields[1])
		}
		return wall, cpu, true
	}
	return 0, 0, false
}

// medianSync is the median sync wall and CPU time of runs (each median on
// its own); ok is false when a run printed no sync time.
func medianSync(rs []run) (wall, cpu time.Duration, ok bool) { return medianOwn(rs, "synced in ") }

// medianOwn is the median of the wall and CPU times runs printed of
// themselves (ownTime); ok is false when a run printed none.
func medianOwn(rs []run, prefix string) (wall, cpu time.Duration, ok bool) {
	var walls, cpus []time.Duration
	for _, r := range rs {
		w, c, found := ownTime(r, prefix)
		if !found {
			return 0, 0, false
		}
		walls, cpus = append(walls, w), append(cpus, c)
	}
	if len(walls) == 0 {
		return 0, 0, false
	}
	return runstats.Median(walls), runstats.Median(cpus), true
}

// syncList renders each run's sync time, e.g. "12.3 / 11.0 / 13.1 ms (CPU 10.1 / 9.8 / 10.5 ms)".
func syncList(rs []run) string {
	var ws, cs []string
	for _, r := range rs {
		w, c, _ := syncTime(r)
		ws, cs = append(ws, fmt.Sprintf("%.1f", ms(w))), append(cs, fmt.Sprintf("%.1f", ms(c)))
	}
	return strings.Join(ws, " / ") + " ms (CPU " + strings.Join(cs, " / ") + " ms)"
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

// floorRows reports the delta's raw limit (httpFloor): its requests alone,
// timed inside a fresh process of their own, against the full Go import's
// sync and beside the delta's sync.
func (h *harness) floorRows(fulls, deltas, floors []run, floorErr error) {
	metric := "Incremental refresh of Go: its HTTP requests alone (raw limit: the same GETs from a minimal Go client in a fresh process, timed inside it)"
	fw, fc, okFl := medianOwn(floors, floorLine)
	fullSync, fullCPU, okF := medianSync(fulls)
	dSync, _, okD := medianSync(deltas)
	switch {
	case floorErr != nil:
		h.rows = append(h.rows, row{metric, "failed: " + truncate(floorErr.Error(), 200), "", "", "–"})
		return
	case !okFl || !okF || !okD || fullSync <= 0:
		h.rows = append(h.rows, row{metric, "not measured", "", "", "–"})
		return
	}
	cell := fmt.Sprintf("%.1f%% wall", 100*fw.Seconds()/fullSync.Seconds())
	if fullCPU > 0 {
		cell += fmt.Sprintf(", %.1f%% CPU", 100*fc.Seconds()/fullCPU.Seconds())
	}
	beyond := dSync - fw
	cell += fmt.Sprintf("; the sync beyond them: %.1f ms = %.1f%%", ms(beyond), 100*beyond.Seconds()/fullSync.Seconds())
	h.rows = append(h.rows, row{metric, fmt.Sprintf("%.1f ms, %.1f ms CPU", ms(fw), ms(fc)),
		fmt.Sprintf("full Go import's sync: %.1f ms", ms(fullSync)), cell, "–"})
}
