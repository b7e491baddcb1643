// Command harness benchmarks vulngate against a peer (osv-scanner) on the
// same data in one run and prints a markdown table with ratios.
//
// It measures, each as wall time and peak RSS of the measured process:
// a full import of the shared OSV corpus, an incremental refresh of Go over
// HTTP against a full Go import, a 1,000-component SBOM scan against
// osv-scanner (with a per-component comparison of the reported record IDs),
// the feed gate under load from a separate process (bench/cmd/loadgen),
// and imports of synthetic buckets at 10%, 50% and 100% of -scale records.
// See bench/README.md. It builds vulngate from the repository it runs in and
// installs osv-scanner into <work>/bin when needed; it changes nothing else.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vulngate/vulngate/bench/internal/corpus"
	"github.com/vulngate/vulngate/bench/internal/machine"
	"github.com/vulngate/vulngate/bench/internal/runstats"
)

const osvScannerModule = "github.com/google/osv-scanner/v2/cmd/osv-scanner@v2.6.0"

type config struct {
	repo, corpus, work string
	scale              int
	skipPeer           bool
	only               string
	runs               int
	sbomSize           int
	sbomSizeLarge      int
	realSBOM           string
	importRuns         int
	lockSize           int
	seed               uint64
	osvScanner         string
	vulngateBin        string
	keep               bool
	timeout            time.Duration
	feedClients        int
	feedLoadClients    int
	feedDuration       time.Duration
}

// run is one measured process.
type run struct {
	Wall      time.Duration
	CPU       time.Duration // user + system
	MaxRSSKiB int64
	Exit      int
	Stdout    string // path of the captured stdout
	Stderr    string
}

func (r run) MiB() float64 { return float64(r.MaxRSSKiB) / 1024 }

// row is one line of the result table.
type row struct{ metric, vulngate, peer, ratio, target string }

type harness struct {
	cfg       config
	vulngate  string // binary path; "" if it did not build
	buildErr  error
	ecos      []string
	counts    map[string]int
	total     int
	fullData  string        // data dir with all ecosystems imported, if the import step ran OK
	fullWall  time.Duration // wall time of the full corpus import, if it ran
	loadStart string
	// freshPages is the machine's cost of a first touch of memory
	// (machine.FreshPageCost), as the report's header prints it.
	freshPages string

	rows    []row
	details []string
	notes   []string
}

func main() {
	if out := os.Getenv(measureEnv); out != "" {
		os.Exit(measureChild(out, os.Args[1:]))
	}
	if list := os.Getenv(floorEnv); list != "" {
		os.Exit(floorChild(list, os.Args[1:], os.Stdout))
	}
	if dir := os.Getenv(inflateFloorEnv); dir != "" {
		os.Exit(inflateFloorChild(dir, os.Stdout))
	}
	log.SetFlags(0)
	log.SetPrefix("harness: ")
	var cfg config
	flag.StringVar(&cfg.corpus, "corpus", "", "OSV corpus in bucket layout (default ../shared/osv-corpus relative to the repo root)")
	flag.StringVar(&cfg.work, "work", "", "work directory (default: a new temp dir)")
	flag.IntVar(&cfg.scale, "scale", 1_000_000, "synthetic records for the scale test (100%)")
	flag.BoolVar(&cfg.skipPeer, "skip-peer", false, "do not install or run osv-scanner")
	flag.StringVar(&cfg.only, "only", "", "run one measurement: import|scan|lockfile|scale|delta|feed")
	flag.IntVar(&cfg.runs, "runs", 5, "timed runs per scan tool (median reported)")
	flag.IntVar(&cfg.sbomSize, "sbom-size", 1000, "components in the generated SBOM")
	flag.IntVar(&cfg.sbomSizeLarge, "sbom-size-large", 10000, "components in the second generated SBOM (0: none)")
	flag.StringVar(&cfg.realSBOM, "real-sbom", "", "a real SBOM to scan as well (default ../shared/sboms/keycloak-10.0.2__bom.json; \"none\" for none)")
	flag.IntVar(&cfg.importRuns, "import-runs", 3, "full imports timed (min and median reported)")
	flag.IntVar(&cfg.lockSize, "lock-size", 5000, "packages in the generated package-lock.json")
	flag.Uint64Var(&cfg.seed, "seed", 20261123, "seed for SBOM generation")
	flag.StringVar(&cfg.osvScanner, "osv-scanner", "", "osv-scanner binary (default <work>/bin/osv-scanner, installed if missing)")
	flag.StringVar(&cfg.vulngateBin, "vulngate", "", "prebuilt vulngate binary (default: go build ./cmd/vulngate into <work>)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the synthetic scale buckets and data dirs")
	flag.DurationVar(&cfg.timeout, "timeout", 30*time.Minute, "limit per measured process")
	flag.IntVar(&cfg.feedClients, "feed-clients", 4, "concurrent clients of the feed gate's latency measurement")
	flag.IntVar(&cfg.feedLoadClients, "feed-load-clients", 32, "concurrent clients of the feed gate's throughput measurement")
	flag.DurationVar(&cfg.feedDuration, "feed-duration", 5*time.Second, "length of each feed load run")
	flag.Parse()
	switch cfg.only {
	case "", "import", "scan", "lockfile", "scale", "delta", "feed":
	default:
		log.Fatalf("-only must be one of import|scan|lockfile|scale|delta|feed, got %q", cfg.only)
	}
	if cfg.scale < 10 {
		log.Fatalf("-scale must be at least 10")
	}
	if cfg.runs < 1 {
		cfg.runs = 1
	}
	if err := setup(&cfg); err != nil {
		log.Fatal(err)
	}
	h := &harness{cfg: cfg}
	if err := h.main(); err != nil {
		log.Fatal(err)
	}
}

func setup(cfg *config) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/vulngate/vulngate\n") {
			cfg.repo = d
			break
		}
		if filepath.Dir(d) == d {
			return errors.New("run from inside the vulngate repository")
		}
	}
	if cfg.corpus == "" {
		cfg.corpus = filepath.Join(cfg.repo, "..", "shared", "osv-corpus")
	}
	switch cfg.realSBOM {
	case "":
		cfg.realSBOM = filepath.Join(cfg.repo, "..", "shared", "sboms", "keycloak-10.0.2__bom.json")
	case "none":
		cfg.realSBOM = ""
	}
	if cfg.corpus, err = filepath.Abs(cfg.corpus); err != nil {
		return err
	}
	if cfg.work == "" {
		if cfg.work, err = os.MkdirTemp("", "vulngate-bench-"); err != nil {
			return err
		}
	}
	if cfg.work, err = filepath.Abs(cfg.work); err != nil {
		return err
	}
	return os.MkdirAll(filepath.Join(cfg.work, "logs"), 0o755)
}

func (h *harness) want(step string) bool { return h.cfg.only == "" || h.cfg.only == step }

func (h *harness) main() error {
	c := h.cfg
	h.loadStart = runstats.LoadAvg(1)
	h.freshPages = freshPageNote()
	log.Printf("repo %s, corpus %s, work %s", c.repo, c.corpus, c.work)
	ecos, err := corpus.Ecosystems(c.corpus)
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	h.ecos, h.counts = ecos, map[string]int{}
	for _, e := range ecos {
		n, err := corpus.CountEntries(corpus.ZipPath(c.corpus, e))
		if err != nil {
			return fmt.Errorf("corpus: %w", err)
		}
		h.counts[e], h.total = n, h.total+n
	}
	log.Printf("corpus: %d ecosystems, %d zip entries", len(ecos), h.total)

	h.buildVulngate()
	if h.want("import") {
		h.step("import", h.importStep)
	}
	if h.want("delta") {
		h.step("delta", h.deltaStep)
	}
	if h.want("scan") {
		h.step("scan", h.scanStep)
	}
	if h.want("lockfile") {
		h.step("lockfile", h.lockfileStep)
	}
	if h.want("feed") {
		h.step("feed", h.feedStep)
	}
	if h.want("scale") {
		h.step("scale", h.scaleStep)
	}
	return h.report()
}

func (h *harness) step(name string, fn func() error) {
	log.Printf("== %s", name)
	if err := fn(); err != nil {
		log.Printf("%s: %v", name, err)
		h.notes = append(h.notes, fmt.Sprintf("**%s failed:** %v", name, err))
	}
}

func (h *harness) buildVulngate() {
	if h.cfg.vulngateBin != "" {
		bin, err := filepath.Abs(h.cfg.vulngateBin)
		if err != nil {
			h.buildErr = err
			return
		}
		h.vulngate = bin
		return
	}
	bin := filepath.Join(h.cfg.work, "vulngate")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/vulngate")
	cmd.Dir = h.cfg.repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as `make build` does
	out, err := cmd.CombinedOutput()
	if err != nil {
		h.buildErr = fmt.Errorf("go build ./cmd/vulngate: %v\n%s", err, strings.TrimSpace(string(out)))
		log.Printf("%v", h.buildErr)
		h.notes = append(h.notes, "**vulngate did not build**, its measurements were skipped:\n\n```\n"+truncate(h.buildErr.Error(), 2000)+"\n```")
		return
	}
	h.vulngate = bin
	log.Printf("built %s", bin)
}

// freshPageNote measures what first touching memory costs on this machine
// (64 MiB, median of 5) for the report's header: figures of runs on
// machines where it differs much are not comparable. Beside it, the same
// in memory advised for huge pages, as vulngate's scans and imports ask
// for (internal/hugeheap).
func freshPageNote() string {
	d, err := machine.FreshPageCost(64<<20, 5)
	if err != nil {
		return "fresh memory: " + err.Error()
	}
	note := fmt.Sprintf("fresh memory %.2f µs per 4 KiB page touched first", float64(d)/float64(time.Microsecond))
	if h, err := machine.FreshHugePageCost(64<<20, 5); err == nil {
		note += fmt.Sprintf(" (%.2f µs in memory advised for huge pages)", float64(h)/float64(time.Microsecond))
	}
	return note
}
