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
// It leaves out a peer on PostgreSQL (none of the field's scanners runs on
// one), list queries at scale (bench/cmd/loadgen measures those against a
// running server) and several instances sharing the database.
//
// Usage (from the repository root):
//
//	go run ./bench/cmd/pgreport [-corpus ../shared/osv-corpus] [-sbom FILE] [-requests 5000]
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
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

func main() {
	corpus := flag.String("corpus", "../shared/osv-corpus", "OSV bucket directory (ecosystems.txt, <eco>/all.zip)")
	sbom := flag.String("sbom", "../shared/sboms/keycloak-10.0.2__bom.json", "SBOM to scan")
	dsn := flag.String("dsn", os.Getenv("VULNGATE_DATABASE_URL"), "PostgreSQL admin DSN (a database is created in it); default: start a private server")
	requests := flag.Int("requests", 5000, "cached artifact downloads timed per engine")
	work := flag.String("work", "", "work directory (default: a new temporary one, removed at the end)")
	flag.Parse()
	if err := run(*corpus, *sbom, *dsn, *work, *requests); err != nil {
		fmt.Fprintln(os.Stderr, "pgreport:", err)
		os.Exit(1)
	}
}

type result struct {
	engine                          string
	records                         int
	full, refresh, scan             time.Duration
	gateP50, gateP99                time.Duration
	gateRPS                         float64
	mirrorRSS, serveRSS, scanRSSKiB int64
}

func run(corpus, sbom, dsn, work string, requests int) error {
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
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/vulngate").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	if dsn == "" {
		stop, admin, err := startPostgres(work)
		if err != nil {
			return err
		}
		defer stop()
		dsn = admin
	}
	pgDSN, err := createDatabase(dsn, fmt.Sprintf("vg_report_%d", os.Getpid()))
	if err != nil {
		return err
	}
	var results []result
	for _, eng := range []string{"sqlite", "postgres"} {
		env := []string{}
		if eng == "postgres" {
			env = append(env, "VULNGATE_DATABASE_URL="+pgDSN)
		}
		r, err := measure(bin, eng, filepath.Join(work, eng), env, corpus, sbom, requests)
		if err != nil {
			return fmt.Errorf("%s: %w", eng, err)
		}
		results = append(results, r)
	}
	host, _ := os.Hostname()
	fmt.Printf("Measured %s on %s (%d CPUs, %s/%s), corpus %s.\n\n", time.Now().UTC().Format("2006-01-02"), host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, corpus)
	fmt.Println("| engine | full import | records/s | incremental refresh (ratio to full) | SBOM scan | gate p50 / p99 | gate req/s (4 clients) | RSS mirror / serve / scan |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %s | %s | %.0f | %s (%.3f) | %s | %s / %s | %.0f | %d / %d / %d MiB |\n", r.engine, r.full.Round(time.Millisecond),
			float64(r.records)/r.full.Seconds(), r.refresh.Round(time.Millisecond), r.refresh.Seconds()/r.full.Seconds(), r.scan.Round(time.Millisecond),
			r.gateP50.Round(10*time.Microsecond), r.gateP99.Round(10*time.Microsecond), r.gateRPS, r.mirrorRSS>>10, r.serveRSS>>10, r.scanRSSKiB>>10)
	}
	return nil
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "pgreport: "+format+"\n", args...) }

// timed runs the binary and returns its wall time and peak RSS (KiB).
func timed(bin string, env []string, args ...string) (time.Duration, int64, string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	if err != nil {
		return d, rss, out.String(), fmt.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out.String())
	}
	return d, rss, out.String(), nil
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

func measure(bin, eng, dir string, env []string, corpus, sbom string, requests int) (result, error) {
	r := result{engine: eng}
	ecos, err := ecosystems(corpus)
	if err != nil {
		return r, err
	}
	data := filepath.Join(dir, "data")
	base := []string{"--data-dir", data, "--log-level", "warn"}
	logf("%s: full import of %s", eng, ecos)
	var rss int64
	r.full, rss, _, err = timed(bin, env, append(base, "mirror", "--base-url", "file://"+corpus, "--ecosystems", ecos)...)
	if err != nil {
		return r, err
	}
	r.mirrorRSS = rss
	r.records = countRecords(corpus, ecos)
	logf("%s: incremental refresh (nothing changed)", eng)
	if r.refresh, _, _, err = timed(bin, env, append(base, "mirror", "--base-url", "file://"+corpus, "--ecosystems", ecos)...); err != nil {
		return r, err
	}
	logf("%s: scanning %s (median of 5)", eng, filepath.Base(sbom))
	var scans []time.Duration
	for range 5 {
		d, rss, _, err := timed(bin, env, append(base, "scan", "--format", "json", sbom)...)
		if err != nil && !strings.Contains(err.Error(), "exit status 1") {
			return r, err
		}
		scans = append(scans, d)
		r.scanRSSKiB = max(r.scanRSSKiB, rss)
	}
	sort.Slice(scans, func(i, j int) bool { return scans[i] < scans[j] })
	r.scan = scans[len(scans)/2]
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
	if _, _, out, err := timed(bin, env, append(base, "feed", "create", "bench-npm", "--type", "npm", "--upstream", upURL, "--unassessed", "allow")...); err != nil && !strings.Contains(out, "exists") {
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
// with durable settings left at their defaults (fsync on).
func startPostgres(work string) (stop func(), dsn string, err error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		return nil, "", errors.New("no PostgreSQL found: install postgresql or pass -dsn")
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
			return nil, "", err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chown(work, uid, gid)
		os.Chown(root, uid, gid)
	}
	data := filepath.Join(root, "data")
	if out, err := asPG(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8").CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("initdb: %v %s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	_, port, _ := net.SplitHostPort(addr)
	opts := fmt.Sprintf("-h 127.0.0.1 -p %s -k %s", port, root)
	if out, err := asPG(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(root, "log"), "-w", "start").CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("pg_ctl start: %v %s", err, out)
	}
	logf("started PostgreSQL (%s) on 127.0.0.1:%s", filepath.Base(filepath.Dir(bin)), port)
	return func() {
		asPG(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop").Run()
	}, fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable", port), nil
}

func zipEntries(path string) (int, error) {
	z, err := zip.OpenReader(path)
	if err != nil {
		return 0, err
	}
	defer z.Close()
	return len(z.File), nil
}
