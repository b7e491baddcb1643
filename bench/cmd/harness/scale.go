package main

// The scale step: imports of synthetic buckets.

import (
	"cmp"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vulngate/vulngate/bench/internal/genzip"
)

// ---- 4. scale ----

func (h *harness) scaleStep() error {
	root := filepath.Join(h.cfg.work, "scale")
	if !h.cfg.keep {
		defer os.RemoveAll(root)
	}
	fracs := []int{10, 50, 100}
	sizes := make([]int, len(fracs))
	dirs := make([]string, len(fracs))
	for i, p := range fracs {
		sizes[i] = h.cfg.scale * p / 100
		dirs[i] = filepath.Join(root, fmt.Sprintf("bucket-%d", p))
	}
	start := time.Now()
	log.Printf("generating synthetic buckets of %v records", sizes)
	stats, err := genzip.WriteMany(dirs, sizes)
	if err != nil {
		return fmt.Errorf("genzip: %w", err)
	}
	log.Printf("generated synthetic buckets in %s", time.Since(start).Round(time.Millisecond))
	if h.vulngate == "" {
		for i := range fracs {
			h.rows = append(h.rows, row{fmt.Sprintf("Scale import %s synthetic records", commas(sizes[i])), "not run", "n/a", "", "≤ 150 MB peak"})
		}
		return errNoVulngate
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### Scale\n\nSynthetic Go buckets (module `example.com/synthetic/m<N>`, IDs `VGSYN-<N>`), one import each into a fresh data dir via file://.\n\n")
	b.WriteString("| records | zip size | avg record | wall | records/s | peak RSS |\n|---:|---:|---:|---:|---:|---:|\n")
	var rates []float64
	var rss []int64
	var firstErr error
	for i, p := range fracs {
		dataDir := filepath.Join(root, fmt.Sprintf("data-%d", p))
		r, err := h.mirror(fmt.Sprintf("scale-import-%d", p), dataDir, fileURL(dirs[i]), []string{genzip.Ecosystem})
		metric := fmt.Sprintf("Scale import %s synthetic records (%d%%): records/s, peak RSS", commas(sizes[i]), p)
		if err != nil {
			h.rows = append(h.rows, row{metric, "failed", "n/a", "", "≤ 150 MB peak"})
			firstErr = cmp.Or(firstErr, err)
			if !h.cfg.keep {
				os.RemoveAll(dataDir)
			}
			continue
		}
		rate := float64(sizes[i]) / r.Wall.Seconds()
		rates, rss = append(rates, rate), append(rss, r.MaxRSSKiB)
		// The limit: 1,000,000 records in 30 s, i.e. 33,333/s.
		limit := 30 * float64(sizes[i]) / 1e6
		h.rows = append(h.rows, row{metric, fmt.Sprintf("%s/s (%.2f s), %s", commas(int(rate)), r.Wall.Seconds(), mib(r)), fmt.Sprintf("raw limit %.1f s", limit), "",
			mark(r.Wall.Seconds() <= limit, fmt.Sprintf("≤ %.1f s", limit)) + ", " + rssTarget(r.MaxRSSKiB)})
		fmt.Fprintf(&b, "| %s | %.1f MiB | %d B | %.2f s | %s | %s |\n", commas(sizes[i]), float64(stats[i].ZipBytes)/(1<<20), stats[i].RawBytes/int64(max(1, sizes[i])), r.Wall.Seconds(), commas(int(rate)), mib(r))
		if i == len(fracs)-1 { // a small delta over the largest import
			if err := h.scaleDelta(dirs[i], dataDir, sizes[i], r); err != nil {
				firstErr = cmp.Or(firstErr, err)
			}
		}
		if !h.cfg.keep {
			os.RemoveAll(dataDir)
		}
	}
	if len(rates) == len(fracs) {
		lin := rates[len(rates)-1] / rates[0]
		grow := float64(rss[len(rss)-1]) / float64(rss[0])
		h.rows = append(h.rows, row{"Scale linearity: rate at 100% / rate at 10%; RSS at 100% / RSS at 10%",
			fmt.Sprintf("%.2f; %.2f", lin, grow), "", "", "rate ≈ 1 (linear); RSS ≈ 1 (bounded)"})
		fmt.Fprintf(&b, "\nRate at 100%% / rate at 10%%: %.2f (1.0 = linear time). Peak RSS at 100%% / at 10%%: %.2f (1.0 = memory independent of size).\n", lin, grow)
	}
	h.details = append(h.details, b.String())
	return firstErr
}
