package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// The performance report of issue 6, run on demand:
//
//	VULNGATE_LOAD_REPORT=1 go test ./internal/server -run '^TestLoadReport$' -v -timeout 30m
//
// TestLoadReport runs TestLoadReportChild in a child process (so that its
// memory is the server's alone) and prints what it measured: the server's
// RSS after a full mirror of the shared corpus (every ecosystem in its
// ecosystems.txt), then p50/p99 latency and requests per second of the
// filtered, paginated findings and vulnerabilities lists with 10,000
// recorded findings, under a bounded loopback load (VULNGATE_LOAD_CLIENTS
// clients, default 4, for VULNGATE_LOAD_SECONDS, default 10). It asserts
// nothing about time.

const loadChildEnv = "VULNGATE_LOAD_CHILD"

func TestLoadReport(t *testing.T) {
	if os.Getenv("VULNGATE_LOAD_REPORT") != "1" {
		t.Skip("set VULNGATE_LOAD_REPORT=1 to run the load report")
	}
	corpus.Dir(t) // skip (or fail in CI) early without the corpus
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadReportChild$", "-test.v", "-test.timeout=30m")
	cmd.Env = append(os.Environ(), loadChildEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var report []string
	for sc.Scan() {
		if l, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "REPORT "); ok {
			report = append(report, l)
		} else if testing.Verbose() {
			fmt.Fprintln(os.Stderr, "child:", sc.Text())
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		report = append(report, fmt.Sprintf("child process max RSS (rusage): %.1f MiB", float64(ru.Maxrss)/1024))
	}
	fmt.Println("vulngate load report")
	for _, l := range report {
		fmt.Println("  " + l)
	}
}

func TestLoadReportChild(t *testing.T) {
	if os.Getenv(loadChildEnv) != "1" {
		t.Skip("run by TestLoadReport")
	}
	report := func(format string, args ...any) { fmt.Printf("REPORT "+format+"\n", args...) }
	dir := corpus.Dir(t)
	ctx := t.Context()
	addr, srv := serveReal(t, func(o *Options) { o.Version = "load" })
	st := srv.st
	base := "http://" + addr
	admin, err := st.UserByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	key, prefix, hash := auth.NewAPIKey()
	if _, err := st.CreateAPIKey(ctx, admin.ID, "load", prefix, hash); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	call := func(method, path string, body any, v any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = strings.NewReader(string(b))
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		if v != nil {
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatal(err)
			}
		}
	}

	// 1. A full mirror of the corpus through the job, then the RSS.
	var ecos struct{ Ecosystems []string }
	call("GET", "/api/v1/sources/osv/ecosystems?base_url="+url.QueryEscape("file://"+dir), nil, &ecos)
	call("PUT", "/api/v1/sources/osv", OSVSettings{Enabled: true, BaseURL: "file://" + dir, Ecosystems: ecos.Ecosystems}, nil)
	start := time.Now()
	var run runOut
	call("POST", "/api/v1/jobs/osv-mirror/runs", nil, &run)
	srv.Runner().Wait()
	call("GET", fmt.Sprintf("/api/v1/jobs/osv-mirror/runs/%d", run.ID), nil, &run)
	if run.Status != "succeeded" {
		t.Fatalf("mirror run %s: %s", run.Status, run.Error)
	}
	var stats statsOut
	call("GET", "/api/v1/stats", nil, &stats)
	report("full mirror: %d ecosystems, %d advisories indexed, %s", len(ecos.Ecosystems), stats.Advisories, time.Since(start).Round(time.Millisecond))
	rss, hwm := procStatus(t)
	report("server RSS after the full mirror: VmRSS %.1f MiB, VmHWM (peak) %.1f MiB", rss, hwm)
	runtime.GC()
	rss, _ = procStatus(t)
	report("server RSS after the full mirror and a GC: VmRSS %.1f MiB", rss)

	// 2. 10,000 recorded findings over four projects, from real advisories,
	// and some assessments.
	var ads []advisoryOut
	for off := 0; len(ads) < 2500; off += 500 {
		var p advisoryPage
		call("GET", fmt.Sprintf("/api/v1/advisories?limit=500&offset=%d", off), nil, &p)
		if len(p.Items) == 0 {
			break
		}
		ads = append(ads, p.Items...)
	}
	if len(ads) < 50 {
		t.Fatalf("only %d advisories", len(ads))
	}
	const scopes, pkgsPerScope, perPkg = 4, 500, 5
	start = time.Now()
	n := 0
	for sIdx := range scopes {
		var pkgs []store.ObservedPackage
		for p := range pkgsPerScope {
			name := fmt.Sprintf("pkg-%d", p)
			eco := ads[(p*perPkg)%len(ads)].Ecosystem
			op := store.ObservedPackage{PURL: fmt.Sprintf("pkg:generic/%s@1.%d.0", name, sIdx), Ecosystem: eco, Name: name, Version: fmt.Sprintf("1.%d.0", sIdx), Complete: true}
			for k := range perPkg {
				a := ads[(p*perPkg+k+sIdx*7)%len(ads)]
				score := int(a.Score * 10)
				if a.Score == 0 {
					score = -1
				}
				srcs := []string{"OSV"}
				if k%3 == 0 {
					srcs = append(srcs, "OSSINDEX")
				}
				op.Findings = append(op.Findings, store.ObservedFinding{VulnID: a.ID, IDs: slices.Sorted(slices.Values(append([]string{a.ID}, a.Aliases...))),
					Rating: a.Severity, Score: score, Summary: a.Summary, Sources: srcs})
				n++
			}
			pkgs = append(pkgs, op)
		}
		if _, err := st.RecordFindings(ctx, fmt.Sprintf("project:app%d", sIdx+1), pkgs, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	var blocked, ignored []string
	for i, a := range ads {
		switch i % 10 {
		case 0:
			blocked = append(blocked, a.ID)
		case 1:
			ignored = append(ignored, a.ID)
		}
	}
	call("POST", "/api/v1/assessments/bulk", bulkRequest{VulnIDs: blocked, Type: "Blocked"}, nil)
	call("POST", "/api/v1/assessments/bulk", bulkRequest{VulnIDs: ignored, Type: "Ignore", Scope: "project:app2"}, nil)
	var fp findingPage
	call("GET", "/api/v1/findings?limit=1", nil, &fp)
	report("seeded %d findings (%d recorded) over %d projects, %d blocked and %d ignored IDs, in %s", n, fp.Total, scopes, len(blocked), len(ignored), time.Since(start).Round(time.Millisecond))

	// 3. The bounded load.
	clients, seconds := envInt("VULNGATE_LOAD_CLIENTS", 4), envInt("VULNGATE_LOAD_SECONDS", 10)
	kinds := []struct {
		name string
		urls []string
	}{
		{"findings", []string{
			"/api/v1/findings?project=app1&severity=critical,high&limit=50&offset=%d",
			"/api/v1/findings?assessment=unassessed&limit=50&offset=%d",
			"/api/v1/findings?assessment=Blocked&limit=50&offset=%d",
			"/api/v1/findings?scope=project:app2&source=OSSINDEX&limit=50&offset=%d",
			"/api/v1/findings?q=CVE-2023&limit=50&offset=%d",
		}},
		{"vulnerabilities", []string{
			"/api/v1/advisories?scope=project:app2&assessment=unassessed&limit=50&offset=%d",
			"/api/v1/advisories?severity=critical,high&limit=50&offset=%d",
			"/api/v1/advisories?assessment=Blocked&limit=50&offset=%d",
			"/api/v1/advisories?ecosystem=PyPI&q=django&limit=50&offset=%d",
		}},
	}
	for _, k := range kinds {
		lat, total, errs := loadRun(client, key, base, k.urls, clients, time.Duration(seconds)*time.Second)
		slices.Sort(lat)
		pct := func(p float64) time.Duration {
			if len(lat) == 0 {
				return 0
			}
			return lat[min(len(lat)-1, int(p*float64(len(lat))))]
		}
		report("%s list (%d clients, %ds, filtered, limit 50): %d requests, %d errors, %.0f req/s, p50 %s, p99 %s, max %s",
			k.name, clients, seconds, len(lat), errs, float64(len(lat))/total.Seconds(), pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), pct(1).Round(10*time.Microsecond))
	}
	// One request of each URL alone, to see which filter costs what.
	for _, k := range kinds {
		for _, u := range k.urls {
			u = fmt.Sprintf(u, 0)
			var best time.Duration
			for i := range 5 {
				t0 := time.Now()
				call("GET", u, nil, nil)
				if d := time.Since(t0); i == 0 || d < best {
					best = d
				}
			}
			report("  %s: best of 5 %s", u, best.Round(10*time.Microsecond))
		}
	}
	rss, hwm = procStatus(t)
	report("server RSS after the load: VmRSS %.1f MiB, VmHWM (peak) %.1f MiB", rss, hwm)
}

// loadRun sends GET requests from clients goroutines for d, cycling
// through urls with growing offsets (0..450), and returns the latencies.
func loadRun(c *http.Client, key, base string, urls []string, clients int, d time.Duration) ([]time.Duration, time.Duration, int) {
	var mu sync.Mutex
	var all []time.Duration
	errs := 0
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for i := w; time.Now().Before(deadline); i++ {
				u := fmt.Sprintf(urls[i%len(urls)], (i/len(urls))%10*50)
				req, _ := http.NewRequest("GET", base+u, nil)
				req.Header.Set("Authorization", "Bearer "+key)
				t0 := time.Now()
				res, err := c.Do(req)
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				mine = append(mine, time.Since(t0))
				if err != nil || res.StatusCode != 200 {
					bad++
				}
			}
			mu.Lock()
			all = append(all, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, time.Since(start), errs
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// procStatus returns VmRSS and VmHWM of this process in MiB.
func procStatus(t *testing.T) (rss, hwm float64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Logf("no /proc/self/status: %v", err)
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}
