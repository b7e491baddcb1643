// Command abtest compares vulngate binaries on one task, interleaved: each
// round runs every binary once, in an order that rotates from round to
// round, and the figures are the medians over the rounds and the median of
// each round's ratio to the first binary (paired, so that the machine's
// speed, which on a shared machine moves by several percent within
// minutes, cancels out of the ratio). It is how a change worth 1-3% is
// told from noise; the harness (bench/cmd/harness) reports the figures
// themselves against their targets and peers.
//
//	go run ./bench/cmd/abtest -task import -rounds 16 old=/tmp/vg-old new=/tmp/vg-new
//
// Tasks:
//   - import: vulngate mirror of every ecosystem of the corpus (file://)
//     into a new data dir.
//   - delta: the incremental refresh of Go from the corpus's delta/ over a
//     loopback HTTP server (bench/internal/bucket), each run on a copy of a
//     data dir that binary imported Go into once.
//   - unchanged: the refresh of every ecosystem with nothing new, each run
//     on a copy of a data dir that binary imported the corpus into once.
//   - scan: vulngate scan --format json of -sbom (default keycloak's SBOM
//     from ../shared/sboms) against a data dir that binary imported the
//     corpus into once; the output is discarded.
//
// A binary may be given environment variables: label=path,NAME=value,...
// It measures whole processes (wall time around the run, CPU time and peak
// RSS from the kernel) and also reads the sync's own time from the mirror
// command's "synced in" line. It leaves out significance tests: the share
// of rounds in which a binary was faster than the first is printed with
// the ratios, and a result that matters is worth a second series.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vulngate/vulngate/bench/internal/bucket"
	"github.com/vulngate/vulngate/bench/internal/corpus"
	"github.com/vulngate/vulngate/bench/internal/runstats"
)

// binary is one vulngate under test.
type binary struct {
	label string
	path  string
	env   []string
	base  string // data dir to copy for each run (delta, unchanged)
}

// sample is one measured run.
type sample struct {
	wall, cpu, sync time.Duration
	rssKiB          int64
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("abtest: ")
	corpusDir := flag.String("corpus", "../shared/osv-corpus", "OSV corpus in bucket layout")
	task := flag.String("task", "import", "import, delta, unchanged or scan")
	sbom := flag.String("sbom", "../shared/sboms/keycloak-10.0.2__bom.json", "SBOM the scan task scans")
	rounds := flag.Int("rounds", 16, "rounds (each runs every binary once)")
	work := flag.String("work", "", "work directory (default: a new temporary one, removed at the end)")
	flag.Parse()
	bins, err := parseBinaries(flag.Args())
	if err != nil {
		log.Fatal(err)
	}
	if *task != "import" && *task != "delta" && *task != "unchanged" && *task != "scan" {
		log.Fatalf("unknown task %q", *task)
	}
	ecos, err := corpus.Ecosystems(*corpusDir)
	if err != nil {
		log.Fatal(err)
	}
	dir := *work
	if dir == "" {
		if dir, err = os.MkdirTemp("", "abtest-"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	abs, err := filepath.Abs(*corpusDir)
	if err != nil {
		log.Fatal(err)
	}
	// Each run mirrors ecosystems from source, on a copy of a data dir the
	// binary imported prepared into first (none for import).
	corpusURL := "file://" + abs
	source, ecosystems, prepared := corpusURL, strings.Join(ecos, ","), ""
	var sbomPath string
	switch *task {
	case "unchanged":
		prepared = ecosystems
	case "scan":
		prepared = ecosystems
		if sbomPath, err = filepath.Abs(*sbom); err == nil {
			_, err = os.Stat(sbomPath)
		}
		if err != nil {
			log.Fatal(err)
		}
	case "delta":
		srv := bucket.Start(filepath.Join(abs, "delta"))
		defer srv.Close()
		source, ecosystems, prepared = srv.URL, "Go", "Go"
	}
	if prepared != "" {
		for i := range bins {
			if err := prepare(&bins[i], dir, corpusURL, prepared); err != nil {
				log.Fatal(err)
			}
		}
	}
	log.Printf("%s, %d rounds of %d binaries; load average %s", *task, *rounds, len(bins), runstats.LoadAvg(3))
	samples := make([][]sample, len(bins)) // [binary][round]
	for i := range bins {
		samples[i] = make([]sample, *rounds)
	}
	for r := range *rounds {
		for _, i := range rotation(len(bins), r) {
			b := &bins[i]
			var args []string
			if *task == "scan" {
				// Scans change nothing a later scan reads: no copy.
				args = scanArgs(b.base, sbomPath)
			} else {
				data := filepath.Join(dir, "run")
				os.RemoveAll(data)
				if b.base != "" {
					if err := os.CopyFS(data, os.DirFS(b.base)); err != nil {
						log.Fatal(err)
					}
				}
				args = mirrorArgs(data, source, ecosystems)
			}
			s, err := run(b, args)
			if err != nil {
				log.Fatalf("%s (round %d): %v", b.label, r+1, err)
			}
			samples[i][r] = s
		}
	}
	log.Printf("load average at the end %s", runstats.LoadAvg(3))
	report(os.Stdout, *task, bins, samples)
}

// parseBinaries reads label=path[,NAME=value...] arguments.
func parseBinaries(argv []string) ([]binary, error) {
	if len(argv) < 2 {
		return nil, fmt.Errorf("give at least two binaries as label=path[,NAME=value...]")
	}
	var out []binary
	seen := map[string]bool{}
	for _, a := range argv {
		label, rest, ok := strings.Cut(a, "=")
		if !ok || label == "" || rest == "" {
			return nil, fmt.Errorf("%q: want label=path[,NAME=value...]", a)
		}
		if seen[label] {
			return nil, fmt.Errorf("label %q given twice", label)
		}
		seen[label] = true
		parts := strings.Split(rest, ",")
		b := binary{label: label, path: parts[0]}
		for _, kv := range parts[1:] {
			if !strings.Contains(kv, "=") {
				return nil, fmt.Errorf("%q: environment %q is not NAME=value", a, kv)
			}
			b.env = append(b.env, kv)
		}
		out = append(out, b)
	}
	return out, nil
}

// rotation is the order in which round r runs n binaries: each starts
// rounds in turn, so that none always runs right after another.
func rotation(n, r int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = (i + r) % n
	}
	return out
}

// prepare imports what the binary's runs start from (ecosystems, from
// source) into a data dir of its own.
func prepare(b *binary, work, source, ecosystems string) error {
	b.base = filepath.Join(work, "base-"+b.label)
	os.RemoveAll(b.base)
	if _, err := run(b, mirrorArgs(b.base, source, ecosystems)); err != nil {
		return fmt.Errorf("%s: preparing its data dir: %w", b.label, err)
	}
	return nil
}

// mirrorArgs is the command line mirroring ecosystems from source into
// the data dir.
func mirrorArgs(data, source, ecosystems string) []string {
	return []string{"--data-dir", data, "mirror", "--base-url", source, "--ecosystems", ecosystems}
}

// scanArgs is the command line scanning an SBOM against the data dir,
// its report in JSON (discarded, as the harness's scans are compared).
func scanArgs(data, sbom string) []string {
	return []string{"--data-dir", data, "scan", "--format", "json", sbom}
}

// run runs the binary once and measures it.
func run(b *binary, args []string) (sample, error) {
	cmd := exec.Command(b.path, args...)
	cmd.Env = append(os.Environ(), b.env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	s := sample{wall: time.Since(start)}
	if err != nil {
		return s, fmt.Errorf("%v: %s", err, tail(errOut.String(), 400))
	}
	s.cpu, s.rssKiB, _ = runstats.Exited(cmd.ProcessState)
	s.sync, _ = syncTime(out.String())
	return s, nil
}

// syncTime reads the mirror command's "synced in <duration>, ..." line.
func syncTime(out string) (time.Duration, bool) {
	for line := range strings.SplitSeq(out, "\n") {
		rest, ok := strings.CutPrefix(line, "synced in ")
		if !ok {
			continue
		}
		f := strings.Fields(strings.ReplaceAll(rest, ",", " "))
		if len(f) == 0 {
			return 0, false
		}
		d, err := time.ParseDuration(f[0])
		return d, err == nil
	}
	return 0, false
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// paired is the median over rounds of x's figure over base's, and in how
// many rounds x's was the smaller.
func paired(x, base []sample, fig func(sample) time.Duration) (ratio float64, smaller int) {
	var rs []float64
	for r := range x {
		if fig(base[r]) <= 0 || fig(x[r]) <= 0 {
			continue
		}
		rs = append(rs, float64(fig(x[r]))/float64(fig(base[r])))
		if fig(x[r]) < fig(base[r]) {
			smaller++
		}
	}
	return runstats.Median(rs), smaller
}

func report(w io.Writer, task string, bins []binary, samples [][]sample) {
	wall := func(s sample) time.Duration { return s.wall }
	cpu := func(s sample) time.Duration { return s.cpu }
	sync := func(s sample) time.Duration { return s.sync }
	med := func(xs []sample, fig func(sample) time.Duration) time.Duration {
		var ds []time.Duration
		for _, s := range xs {
			ds = append(ds, fig(s))
		}
		return runstats.Median(ds)
	}
	hasSync := false
	for _, xs := range samples {
		for _, s := range xs {
			hasSync = hasSync || s.sync > 0
		}
	}
	fmt.Fprintf(w, "| %s | wall (median, min) | CPU | sync | peak RSS | wall / %s | CPU / %s | sync / %s |\n|---|---|---|---|---|---|---|---|\n",
		task, bins[0].label, bins[0].label, bins[0].label)
	for i, b := range bins {
		xs := samples[i]
		minWall, maxRSS := xs[0].wall, int64(0)
		for _, s := range xs {
			minWall, maxRSS = min(minWall, s.wall), max(maxRSS, s.rssKiB)
		}
		cells := []string{"1", "1", "1"}
		if i > 0 {
			for k, fig := range []func(sample) time.Duration{wall, cpu, sync} {
				r, smaller := paired(xs, samples[0], fig)
				cells[k] = fmt.Sprintf("%.3f (%d of %d smaller)", r, smaller, len(xs))
			}
		}
		syncMed := ms(med(xs, sync))
		if !hasSync {
			// A command with no "synced in" line (scan).
			syncMed, cells[2] = "–", "–"
		}
		fmt.Fprintf(w, "| %s | %s, %s | %s | %s | %.1f MiB | %s | %s | %s |\n", b.label, ms(med(xs, wall)), ms(minWall),
			ms(med(xs, cpu)), syncMed, float64(maxRSS)/1024, cells[0], cells[1], cells[2])
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
