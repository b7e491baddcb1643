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
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vulngate/vulngate/bench/internal/bucket"
	"github.com/vulngate/vulngate/bench/internal/compare"
	"github.com/vulngate/vulngate/bench/internal/corpus"
	"github.com/vulngate/vulngate/bench/internal/gensbom"
	"github.com/vulngate/vulngate/bench/internal/genzip"
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

	rows    []row
	details []string
	notes   []string
}

func main() {
	if out := os.Getenv(measureEnv); out != "" {
		os.Exit(measureChild(out, os.Args[1:]))
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
	h.loadStart = loadavg()
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

var errNoVulngate = errors.New("vulngate binary not available")

// measure runs name's command and records wall time and peak RSS. okExit
// lists exit codes that are not failures (0 is always fine).
func (h *harness) measure(name string, env []string, okExit []int, bin string, args ...string) (run, error) {
	logs := filepath.Join(h.cfg.work, "logs")
	r := run{Stdout: filepath.Join(logs, name+".out"), Stderr: filepath.Join(logs, name+".err")}
	stdout, err := os.Create(r.Stdout)
	if err != nil {
		return r, err
	}
	defer stdout.Close()
	stderr, err := os.Create(r.Stderr)
	if err != nil {
		return r, err
	}
	defer stderr.Close()
	self, err := os.Executable()
	if err != nil {
		return r, err
	}
	usage := filepath.Join(logs, name+".rusage.json")
	os.Remove(usage)
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.timeout)
	defer cancel()
	// The measured process is started by a copy of this program (see
	// measureChild) so that its peak RSS does not include ours.
	cmd := exec.CommandContext(ctx, self, append([]string{bin}, args...)...)
	cmd.Dir = h.cfg.work
	cmd.Env = append(os.Environ(), append(env, measureEnv+"="+usage)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err = cmd.Run()
	if cmd.ProcessState != nil {
		r.Exit = cmd.ProcessState.ExitCode()
	}
	var u childUsage
	if b, rerr := os.ReadFile(usage); rerr != nil {
		return r, fmt.Errorf("%s: no usage report (%v); run error: %v", name, rerr, err)
	} else if jerr := json.Unmarshal(b, &u); jerr != nil {
		return r, fmt.Errorf("%s: usage report: %v", name, jerr)
	}
	r.Wall, r.CPU, r.MaxRSSKiB, r.Exit = time.Duration(u.WallNS), time.Duration(u.CPUNS), u.MaxRSSKiB, u.Exit
	if u.Error != "" {
		err = errors.New(u.Error)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && slices.Contains(okExit, r.Exit) {
		err = nil
	}
	if err != nil {
		tail, _ := os.ReadFile(r.Stderr)
		return r, fmt.Errorf("%s %s: %v (exit %d); stderr: %s", filepath.Base(bin), strings.Join(args, " "), err, r.Exit, truncate(strings.TrimSpace(string(tail)), 1500))
	}
	log.Printf("%-30s wall %8.3fs  cpu %8.3fs  %7.1f MiB  exit %d", name, r.Wall.Seconds(), r.CPU.Seconds(), r.MiB(), r.Exit)
	return r, nil
}

// measureEnv names the file a measuring copy of this program writes the
// child's usage to; when it is set, the program is that copy.
const measureEnv = "VULNGATE_BENCH_MEASURE_OUT"

type childUsage struct {
	WallNS    int64  `json:"wall_ns"`
	CPUNS     int64  `json:"cpu_ns"`
	MaxRSSKiB int64  `json:"maxrss_kib"`
	Exit      int    `json:"exit"`
	Error     string `json:"error,omitempty"`
}

// measureChild runs argv with this process's stdio, writes its wall time,
// CPU time and peak RSS to out, and returns its exit code.
//
// Why a separate process: Go starts children with CLONE_VM|CLONE_VFORK, and
// Linux carries the parent's RSS high-water mark into the child's ru_maxrss
// at exec. The harness itself can be large (zip generation), so children
// are started from this small, freshly exec'd copy instead.
func measureChild(out string, argv []string) int {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, measureEnv+"=") {
			env = append(env, e)
		}
	}
	u := childUsage{Exit: -1}
	if len(argv) == 0 {
		u.Error = "measure: no command"
	} else {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		start := time.Now()
		err := cmd.Run()
		u.WallNS = int64(time.Since(start))
		if ps := cmd.ProcessState; ps != nil {
			u.Exit = ps.ExitCode()
			if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
				u.MaxRSSKiB = int64(ru.Maxrss) // KiB on Linux
				u.CPUNS = ru.Utime.Nano() + ru.Stime.Nano()
			}
		}
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			u.Error = err.Error()
		}
	}
	b, _ := json.Marshal(u)
	if err := os.WriteFile(out, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		return 125
	}
	if u.Exit < 0 {
		return 125
	}
	return u.Exit
}

func (h *harness) mirror(name, dataDir, baseURL string, ecos []string) (run, error) {
	if h.vulngate == "" {
		return run{}, errNoVulngate
	}
	if err := os.RemoveAll(dataDir); err != nil {
		return run{}, err
	}
	return h.measure(name, nil, nil, h.vulngate, "mirror", "--data-dir", dataDir, "--base-url", baseURL, "--ecosystems", strings.Join(ecos, ","))
}

func fileURL(dir string) string { return "file://" + filepath.ToSlash(dir) }

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
type spec struct {
	name   string
	env    []string
	okExit []int
	bin    string
	args   []string
	runs   []run
	err    error
	done   bool
}

func median(rs []run) run {
	if len(rs) == 0 {
		return run{}
	}
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b run) int { return cmp.Compare(a.Wall, b.Wall) })
	return s[len(s)/2]
}

func medianCPU(rs []run) time.Duration {
	cpus := make([]time.Duration, len(rs))
	for i, r := range rs {
		cpus[i] = r.CPU
	}
	slices.Sort(cpus)
	if len(cpus) == 0 {
		return 0
	}
	return cpus[len(cpus)/2]
}

func maxKiB(rs []run) int64 {
	var m int64
	for _, r := range rs {
		m = max(m, r.MaxRSSKiB)
	}
	return m
}

func (h *harness) osvScannerBinary() (string, error) {
	if h.cfg.osvScanner != "" {
		return h.cfg.osvScanner, nil
	}
	bin := filepath.Join(h.cfg.work, "bin", "osv-scanner")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	log.Printf("installing %s into %s (can take minutes the first time)", osvScannerModule, filepath.Dir(bin))
	cmd := exec.Command("go", "install", osvScannerModule)
	cmd.Dir = h.cfg.work // outside the vulngate module
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=auto", "GOBIN="+filepath.Dir(bin))
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install %s: %w", osvScannerModule, err)
	}
	return bin, nil
}

// osvScannerDB lays out the corpus zips as osv-scanner's offline DB cache and
// returns the environment that points osv-scanner at it.
func (h *harness) osvScannerDB() ([]string, error) {
	root := filepath.Join(h.cfg.work, "osv-scanner-db")
	for _, e := range h.ecos {
		dir := filepath.Join(root, "osv-scalibr", e)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		link := filepath.Join(dir, "all.zip")
		os.Remove(link)
		if err := os.Symlink(corpus.ZipPath(h.cfg.corpus, e), link); err != nil {
			return nil, err
		}
	}
	return []string{"OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY=" + root}, nil
}

func (h *harness) compareFindings(comps []gensbom.Component, vgOut, peerOut string) ([]row, string, error) {
	known := compare.Set{}
	for _, e := range h.ecos {
		ids, err := corpus.IDs(corpus.ZipPath(h.cfg.corpus, e))
		if err != nil {
			return nil, "", err
		}
		for _, id := range ids {
			known[id] = struct{}{}
		}
	}
	cc := make([]compare.Component, len(comps))
	kind := map[string]gensbom.Component{}
	for i, c := range comps {
		cc[i] = compare.Component{PURL: c.PURL, Ecosystem: c.Ecosystem, SBOMName: sbomName(c), Version: c.Version}
		kind[c.PURL] = c
	}
	vg, vgErrs, err := compare.Vulngate(vgOut, known)
	if err != nil {
		return nil, "", err
	}
	peer, unmapped, err := compare.OSVScanner(peerOut, cc, known)
	if err != nil {
		return nil, "", err
	}
	missing := 0
	for _, c := range comps {
		if _, ok := vg[c.PURL]; !ok {
			missing++
		}
	}
	res := compare.Compare(cc, vg, peer)
	// The same comparison restricted to records that have an affected[] entry
	// for the component's package: this leaves out record IDs a tool adds by
	// merging alias groups (records of other packages sharing a CVE).
	pkgs, err := h.recordPackages()
	if err != nil {
		return nil, "", err
	}
	own := func(m map[string]compare.Set) map[string]compare.Set {
		out := map[string]compare.Set{}
		for _, c := range comps {
			k := compare.Key(c.Ecosystem, c.Name, "")
			s := compare.Set{}
			for id := range m[c.PURL] {
				if slices.Contains(pkgs[id], k) {
					s[id] = struct{}{}
				}
			}
			out[c.PURL] = s
		}
		return out
	}
	resOwn := compare.Compare(cc, own(vg), own(peer))
	agree := []row{
		{"Scan: components with the same record IDs", fmt.Sprintf("%d / %d", res.Equal, res.Total), "", pct(res.Equal, res.Total), ""},
		{"Scan: same, counting only records that name the package", fmt.Sprintf("%d / %d", resOwn.Equal, resOwn.Total), "", pct(resOwn.Equal, resOwn.Total), ""},
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n#### Findings compared (record IDs per component)\n\n")
	fmt.Fprintf(&b, "| | vulngate | osv-scanner |\n|---|---:|---:|\n| components with ≥ 1 record | %d | %d |\n| record IDs (sum over components) | %d | %d |\n\n",
		res.WithFindingsVG, res.WithFindingsPeer, res.IDsVG, res.IDsPeer)
	fmt.Fprintf(&b, "Agreement: %d of %d components have the same set of record IDs; %d of %d when only records with an affected[] entry for the component's package are counted (this leaves out IDs added by merging alias groups: %d only-vulngate and %d only-osv-scanner IDs remain).\n",
		res.Equal, res.Total, resOwn.Equal, resOwn.Total, countIDs(resOwn.Diffs, true), countIDs(resOwn.Diffs, false))
	if missing > 0 {
		fmt.Fprintf(&b, "\n%d SBOM component(s) are absent from vulngate's report.\n", missing)
	}
	if len(vgErrs) > 0 {
		fmt.Fprintf(&b, "\nvulngate reported errors for %d component(s), e.g.:\n\n", len(vgErrs))
		n := 0
		for _, p := range sortedKeys(vgErrs) {
			if n++; n > 10 {
				break
			}
			fmt.Fprintf(&b, "- `%s`: %s\n", cmp.Or(p, "(no purl)"), strings.Join(vgErrs[p], "; "))
		}
	}
	if len(unmapped) > 0 {
		fmt.Fprintf(&b, "\n%d osv-scanner package(s) could not be mapped to an SBOM component: %s\n", len(unmapped), strings.Join(truncList(sortedKeys(unmapped), 10), ", "))
	}
	if len(res.Diffs) > 0 {
		recs, err := h.records(res.Diffs)
		if err != nil {
			return nil, "", err
		}
		type class struct{ side, eco, hint string }
		classes := map[class]int{}
		var lines strings.Builder
		lines.WriteString("\n| purl | kind (source record) | only in vulngate | only in osv-scanner |\n|---|---|---|---|\n")
		for _, d := range res.Diffs {
			c := kind[d.PURL]
			annotate := func(side string, ids []string) string {
				var parts []string
				for _, id := range ids {
					hint := compare.Hint(recs[id], c.Ecosystem, c.Name, c.Version)
					classes[class{side, c.Ecosystem, hint}]++
					parts = append(parts, fmt.Sprintf("%s [%s]", id, hint))
				}
				return strings.Join(parts, "<br>")
			}
			fmt.Fprintf(&lines, "| `%s` | %s (%s) | %s | %s |\n", d.PURL, c.Kind, c.Source, annotate("only vulngate", d.OnlyVulngate), annotate("only osv-scanner", d.OnlyPeer))
		}
		keys := make([]class, 0, len(classes))
		for k := range classes {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b class) int {
			return cmp.Or(cmp.Compare(a.side, b.side), cmp.Compare(classes[b], classes[a]), cmp.Compare(a.eco, b.eco), cmp.Compare(a.hint, b.hint))
		})
		fmt.Fprintf(&b, "\n%d component(s) disagree. Record IDs reported by one tool only, by how the record relates to the component:\n\n| reported only by | ecosystem | record vs component | IDs |\n|---|---|---|---:|\n", len(res.Diffs))
		for _, k := range keys {
			fmt.Fprintf(&b, "| %s | %s | %s | %d |\n", k.side, k.eco, k.hint, classes[k])
		}
		b.WriteString(lines.String())
	}
	return agree, b.String(), nil
}

// recordPackages maps every corpus record ID to the compare.Key (without
// version) of each package its affected[] entries name.
func (h *harness) recordPackages() (map[string][]string, error) {
	out := map[string][]string{}
	for _, e := range h.ecos {
		err := corpus.Walk(corpus.ZipPath(h.cfg.corpus, e), func(r *corpus.Record) error {
			for _, a := range r.Affected {
				base, _, _ := strings.Cut(a.Package.Ecosystem, ":")
				if k := compare.Key(base, a.Package.Name, ""); !slices.Contains(out[r.ID], k) {
					out[r.ID] = append(out[r.ID], k)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func countIDs(diffs []compare.Diff, vulngate bool) int {
	n := 0
	for _, d := range diffs {
		if vulngate {
			n += len(d.OnlyVulngate)
		} else {
			n += len(d.OnlyPeer)
		}
	}
	return n
}

func pct(a, b int) string { return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(max(b, 1))) }

// records loads the corpus records named in diffs (first copy of each ID).
func (h *harness) records(diffs []compare.Diff) (map[string]*corpus.Record, error) {
	want := map[string]bool{}
	for _, d := range diffs {
		for _, id := range append(slices.Clone(d.OnlyVulngate), d.OnlyPeer...) {
			want[id] = true
		}
	}
	out := map[string]*corpus.Record{}
	for _, e := range h.ecos {
		err := corpus.Walk(corpus.ZipPath(h.cfg.corpus, e), func(r *corpus.Record) error {
			if want[r.ID] && out[r.ID] == nil {
				out[r.ID] = r
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

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
			h.rows = append(h.rows, row{fmt.Sprintf("Scale import %s synthetic records", commas(sizes[i])), "not run", "n/a", "", "≤ 150 MiB peak"})
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
		if !h.cfg.keep {
			os.RemoveAll(dataDir)
		}
		metric := fmt.Sprintf("Scale import %s synthetic records (%d%%): records/s, peak RSS", commas(sizes[i]), p)
		if err != nil {
			h.rows = append(h.rows, row{metric, "failed", "n/a", "", "≤ 150 MiB peak"})
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		rate := float64(sizes[i]) / r.Wall.Seconds()
		rates, rss = append(rates, rate), append(rss, r.MaxRSSKiB)
		// The limit: 1,000,000 records in 30 s, i.e. 33,333/s.
		limit := 30 * float64(sizes[i]) / 1e6
		h.rows = append(h.rows, row{metric, fmt.Sprintf("%s/s (%.2f s), %s", commas(int(rate)), r.Wall.Seconds(), mib(r)), fmt.Sprintf("raw limit %.1f s", limit), "",
			mark(r.Wall.Seconds() <= limit, fmt.Sprintf("≤ %.1f s", limit)) + ", " + mark(r.MiB() <= 150, "≤ 150 MiB")})
		fmt.Fprintf(&b, "| %s | %.1f MiB | %d B | %.2f s | %s | %s |\n", commas(sizes[i]), float64(stats[i].ZipBytes)/(1<<20), stats[i].RawBytes/int64(max(1, sizes[i])), r.Wall.Seconds(), commas(int(rate)), mib(r))
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

// ---- report ----

func (h *harness) report() error {
	var b strings.Builder
	fmt.Fprintf(&b, "# vulngate benchmark\n\n%s · corpus `%s` · %d ecosystems, %s records · scale %s · %d CPUs · load average at start %s, at end %s\n\n",
		time.Now().UTC().Format(time.RFC3339), h.cfg.corpus, len(h.ecos), commas(h.total), commas(h.cfg.scale), runtime.NumCPU(), h.loadStart, loadavg())
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

// loadavg returns the 1-minute load average; other work on the machine
// inflates wall times (CPU times are less affected).
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

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
