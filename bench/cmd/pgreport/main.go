// Command pgreport measures vulngate on PostgreSQL next to SQLite and
// prints one markdown table: full corpus import rate, incremental refresh
// time relative to the full import, SBOM scan time, gate latency (p50/p99)
// and throughput for cached artifact downloads through a feed, and the
// peak RSS of the mirror and server processes.
//
// It builds ./cmd/vulngate, runs every measurement as a separate process
// on loopback, and starts a private PostgreSQL (Debian's initdb/pg_ctl,
// as the postgres user when run as root) unless -dsn or
// $VULNGATE_DATABASE_URL names one (that database is written to).
//
// The full import runs -import-runs times, each into a new data directory
// (and a new PostgreSQL database) whose schema is created first by a
// separate command, as a server would have created it: the import's time
// is the import's, and schema creation is reported beside it. Each run's
// CPU is reported per advisory: the vulngate process's, and the
// PostgreSQL server's (its postmaster and every backend, read from /proc)
// when pgreport started the server. On a shared machine the CPU figures
// are what compares across runs; the wall times depend on the load.
//
// It leaves out a peer on PostgreSQL (none of the field's scanners runs on
// one), list queries at scale (bench/cmd/loadgen measures those against a
// running server) and several instances sharing the database.
//
// Usage (from the repository root):
//
//	go run ./bench/cmd/pgreport [-corpus ../shared/osv-corpus] [-sbom FILE] [-requests 5000] [-import-runs 3]
package main

import (
	"archive/zip"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/vulngate/vulngate/bench/internal/runstats"
)

func main() {
	corpus := flag.String("corpus", "../shared/osv-corpus", "OSV bucket directory (ecosystems.txt, <eco>/all.zip)")
	sbom := flag.String("sbom", "../shared/sboms/keycloak-10.0.2__bom.json", "SBOM to scan")
	dsn := flag.String("dsn", os.Getenv("VULNGATE_DATABASE_URL"), "PostgreSQL admin DSN (a database is created in it); default: start a private server")
	requests := flag.Int("requests", 5000, "cached artifact downloads timed per engine")
	work := flag.String("work", "", "work directory (default: a new temporary one, removed at the end)")
	runs := flag.Int("import-runs", 3, "full imports timed per engine (min and median reported)")
	flag.Parse()
	if err := run(*corpus, *sbom, *dsn, *work, *requests, max(1, *runs)); err != nil {
		fmt.Fprintln(os.Stderr, "pgreport:", err)
		os.Exit(1)
	}
}

type result struct {
	engine                          string
	records                         int
	schema, full, fullMin           time.Duration
	clientCPU, serverCPU            time.Duration // medians over the import runs; serverCPU < 0: unknown
	refresh, scan                   time.Duration
	gateP50, gateP99                time.Duration
	gateRPS                         float64
	mirrorRSS, serveRSS, scanRSSKiB int64
}

func run(corpus, sbom, dsn, work string, requests, runs int) error {
	corpus, _ = filepath.Abs(corpus)
	sbom, _ = filepath.Abs(sbom)
	if work == "" {
		d, err := os.MkdirTemp("", "vulngate-pgreport-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		work = d
	}
	bin := filepath.Join(work, "vulngate")
	logf("building %s", bin)
	build := exec.Command("go", "build", "-o", bin, "./cmd/vulngate")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // as `make build` does
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	serverCPU := func() time.Duration { return -1 }
	if dsn == "" {
		stop, admin, cpu, err := startPostgres(work)
		if err != nil {
			return err
		}
		defer stop()
		dsn, serverCPU = admin, cpu
	}
	var results []result
	for _, eng := range []string{"sqlite", "postgres"} {
		// A new database (PostgreSQL) or data directory for each import run.
		setup := func(run int) ([]string, error) {
			if eng != "postgres" {
				return nil, nil
			}
			pgDSN, err := createDatabase(dsn, fmt.Sprintf("vg_report_%d_%d", os.Getpid(), run))
			return []string{"VULNGATE_DATABASE_URL=" + pgDSN}, err
		}
		cpu := serverCPU
		if eng != "postgres" {
			cpu = func() time.Duration { return -1 }
		}
		r, err := measure(bin, eng, work, setup, cpu, runs, corpus, sbom, requests)
		if err != nil {
			return fmt.Errorf("%s: %w", eng, err)
		}
		results = append(results, r)
	}
	host, _ := os.Hostname()
	fmt.Printf("Measured %s on %s (%d CPUs, %s/%s), corpus %s.\n\n", time.Now().UTC().Format("2006-01-02"), host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, corpus)
	fmt.Printf("Full import: median (min) of %d runs, each into a new database whose schema was created first; CPU per advisory: median of the vulngate process's / the PostgreSQL server's (all its processes); load average %s.\n\n", runs, runstats.LoadAvg(1))
	fmt.Println("| engine | schema creation | full import | records/s | CPU per advisory (vulngate / server) | incremental refresh (ratio to full) | SBOM scan | gate p50 / p99 | gate req/s (4 clients) | RSS mirror / serve / scan |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		server := "–"
		if r.serverCPU >= 0 {
			server = fmt.Sprintf("%.1f µs", float64(r.serverCPU.Microseconds())/float64(r.records))
		}
		fmt.Printf("| %s | %s | %s (%s) | %.0f (%.0f) | %.1f µs / %s | %s (%.3f) | %s | %s / %s | %.0f | %d / %d / %d MiB |\n", r.engine, r.schema.Round(time.Millisecond),
			r.full.Round(time.Millisecond), r.fullMin.Round(time.Millisecond), float64(r.records)/r.full.Seconds(), float64(r.records)/r.fullMin.Seconds(),
			float64(r.clientCPU.Microseconds())/float64(r.records), server,
			r.refresh.Round(time.Millisecond), r.refresh.Seconds()/r.full.Seconds(), r.scan.Round(time.Millisecond),
			r.gateP50.Round(10*time.Microsecond), r.gateP99.Round(10*time.Microsecond), r.gateRPS, r.mirrorRSS>>10, r.serveRSS>>10, r.scanRSSKiB>>10)
	}
	return nil
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "pgreport: "+format+"\n", args...) }

// proc is what one run of the binary took.
type proc struct {
	wall, cpu time.Duration // cpu: user + system
	rssKiB    int64         // peak
	out       string
}

// timed runs the binary and measures it.
func timed(bin string, env []string, args ...string) (proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	p := proc{wall: time.Since(start), out: out.String()}
	if cpu, rss, ok := runstats.Exited(cmd.ProcessState); ok {
		p.cpu, p.rssKiB = cpu, rss
	}
	if err != nil {
		return p, fmt.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out.String())
	}
	return p, nil
}

func ecosystems(corpus string) (string, error) {
	b, err := os.ReadFile(filepath.Join(corpus, "ecosystems.txt"))
	if err != nil {
		return "", err
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if _, err := os.Stat(filepath.Join(corpus, l, "all.zip")); err == nil {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, ","), nil
}

// measure times the full import runs times (each into a new database
// that setup gives the environment of; the last one is kept), then the
// refresh, scans and gate on the last import's data.
func measure(bin, eng, work string, setup func(run int) ([]string, error), serverCPU func() time.Duration, runs int, corpus, sbom string, requests int) (result, error) {
	r := result{engine: eng}
	ecos, err := ecosystems(corpus)
	if err != nil {
		return r, err
	}
	r.records = countRecords(corpus, ecos)
	var env, base []string
	var data string
	var schema, full, client, server []time.Duration
	for run := range runs {
		if env, err = setup(run); err != nil {
			return r, err
		}
		data = filepath.Join(work, eng, fmt.Sprint(run), "data")
		base = []string{"--data-dir", data, "--log-level", "warn"}
		logf("%s: schema, then full import of %s (run %d of %d)", eng, ecos, run+1, runs)
		p, err := timed(bin, env, append(base, "mirror", "status")...)
		if err != nil {
			return r, err
		}
		schema = append(schema, p.wall)
		s0 := serverCPU()
		p, err = timed(bin, env, append(base, "mirror", "--base-url", "file://"+corpus, "--ecosystems", ecos)...)
		if err != nil {
			return r, err
		}
		if s0 >= 0 {
			time.Sleep(200 * time.Millisecond) // the server reaps the import's backends
			server = append(server, serverCPU()-s0)
		}
		full, client = append(full, p.wall), append(client, p.cpu)
		r.mirrorRSS = max(r.mirrorRSS, p.rssKiB)
		if run < runs-1 {
			os.RemoveAll(filepath.Dir(data))
		}
	}
	r.schema, r.full, r.fullMin, r.clientCPU, r.serverCPU = runstats.Median(schema), runstats.Median(full), slices.Min(full), runstats.Median(client), -1
	if len(server) > 0 {
		r.serverCPU = runstats.Median(server)
	}
	logf("%s: incremental refresh (nothing changed)", eng)
	p, err := timed(bin, env, append(base, "mirror", "--base-url", "file://"+corpus, "--ecosystems", ecos)...)
	if err != nil {
		return r, err
	}
	r.refresh = p.wall
	logf("%s: scanning %s (median of 5)", eng, filepath.Base(sbom))
	var scans []time.Duration
	for range 5 {
		p, err := timed(bin, env, append(base, "scan", "--format", "json", sbom)...)
		if err != nil && !strings.Contains(err.Error(), "exit status 1") {
			return r, err
		}
		scans = append(scans, p.wall)
		r.scanRSSKiB = max(r.scanRSSKiB, p.rssKiB)
	}
	r.scan = runstats.Median(scans)
	logf("%s: gate latency through a feed", eng)
	if err := gate(bin, env, data, requests, &r); err != nil {
		return r, err
	}
	return r, nil
}

// countRecords sums the records of the corpus's all.zip files (the number
// a full import reads), which is what the rate is computed from.
func countRecords(corpus, ecos string) int {
	n := 0
	for _, e := range strings.Split(ecos, ",") {
		if zr, err := zipEntries(filepath.Join(corpus, e, "all.zip")); err == nil {
			n += zr
		}
	}
	return n
}

func gate(bin string, env []string, data string, requests int, r *result) error {
	// A local upstream registry with one clean npm package.
	tgz := make([]byte, 16<<10)
	for i := range tgz {
		tgz[i] = byte(i)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	upURL := "http://" + l.Addr().String()
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		switch q.URL.Path {
		case "/lodash":
			fmt.Fprintf(w, `{"name":"lodash","dist-tags":{"latest":"4.17.21"},"versions":{"4.17.21":{"name":"lodash","version":"4.17.21","dist":{"tarball":"%s/lodash/-/lodash-4.17.21.tgz"}}}}`, upURL)
		case "/lodash/-/lodash-4.17.21.tgz":
			w.Write(tgz)
		default:
			http.NotFound(w, q)
		}
	})}
	go up.Serve(l)
	defer up.Close()
	base := []string{"--data-dir", data, "--log-level", "warn"}
	if p, err := timed(bin, env, append(base, "feed", "create", "bench-npm", "--type", "npm", "--upstream", upURL, "--unassessed", "allow")...); err != nil && !strings.Contains(p.out, "exists") {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, append(base, "serve", "--addr", addr)...)
	cmd.Env = append(os.Environ(), append(env, "VULNGATE_ADMIN_PASSWORD=pgreport-admin-pw")...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	url := "http://" + addr + "/feeds/bench-npm/lodash/-/lodash-4.17.21.tgz"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	get := func() (time.Duration, error) {
		start := time.Now()
		res, err := client.Get(url)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			return 0, fmt.Errorf("GET %s: %s", url, res.Status)
		}
		return time.Since(start), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		if _, err = get(); err == nil {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("server never served the artifact: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for range 200 { // warm-up
		get()
	}
	lat := make([]time.Duration, 0, requests)
	for range requests {
		d, err := get()
		if err != nil {
			return err
		}
		lat = append(lat, d)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r.gateP50, r.gateP99 = lat[len(lat)/2], lat[len(lat)*99/100]
	// Throughput: 4 clients for 3 seconds.
	var mu sync.Mutex
	n := 0
	deadline := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if _, err := get(); err == nil {
					mu.Lock()
					n++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	r.gateRPS = float64(n) / 3
	r.serveRSS = vmHWM(cmd.Process.Pid)
	return nil
}

// vmHWM is a live process's peak RSS in KiB (Linux).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func createDatabase(admin, name string) (string, error) {
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", err
	}
	defer db.Close()
	db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	i := strings.LastIndexByte(admin, '/')
	q := ""
	if j := strings.IndexByte(admin[i:], '?'); j >= 0 {
		q = admin[i+j:]
	}
	return admin[:i+1] + name + q, nil
}

// startPostgres starts a private server like internal/testutil/pgtest,
// with durable settings left at their defaults (fsync on). cpu reads the
// CPU time its processes have used so far.
func startPostgres(work string) (stop func(), dsn string, cpu func() time.Duration, err error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		return nil, "", nil, errors.New("no PostgreSQL found: install postgresql or pass -dsn")
	}
	sort.Strings(bins)
	bin := filepath.Dir(bins[len(bins)-1])
	root := filepath.Join(work, "pg")
	os.MkdirAll(root, 0o700)
	asPG := func(name string, args ...string) *exec.Cmd {
		if os.Geteuid() == 0 {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
		}
		return exec.Command(name, args...)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, "", nil, err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chown(work, uid, gid)
		os.Chown(root, uid, gid)
	}
	data := filepath.Join(root, "data")
	if out, err := asPG(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8").CombinedOutput(); err != nil {
		return nil, "", nil, fmt.Errorf("initdb: %v %s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	opts := fmt.Sprintf("-h 127.0.0.1 -p %s -k %s", port, root)
	if out, err := asPG(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(root, "log"), "-w", "start").CombinedOutput(); err != nil {
		return nil, "", nil, fmt.Errorf("pg_ctl start: %v %s", err, out)
	}
	logf("started PostgreSQL (%s) on 127.0.0.1:%s", filepath.Base(filepath.Dir(bin)), port)
	pm, _ := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(pm), "\n", 2)[0]))
	return func() {
		asPG(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop").Run()
	}, fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable", port), func() time.Duration { return runstats.TreeCPU(pid) }, nil
}

func zipEntries(path string) (int, error) {
	z, err := zip.OpenReader(path)
	if err != nil {
		return 0, err
	}
	defer z.Close()
	return len(z.File), nil
}
