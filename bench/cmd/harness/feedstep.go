package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vulngate/vulngate/bench/internal/runstats"
)

// ---- 6. feed gate under load from a separate process ----

// The feed measurement serves an npm feed from `vulngate serve` (a child
// process) in front of an upstream in this process, and loads it with
// bench/cmd/loadgen (another child process), so that neither the upstream
// nor the load generator shares the server's process. The package is a
// real one of the corpus at a version no record affects, so each download
// is decided against the mirrored advisories.
const (
	feedPackage = "ansi-html"
	feedVersion = "0.0.8" // 0.0.7 is affected by GHSA-whgm-jr23-g3j9
	feedSources = "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5"
)

// feedUpstream is the npm registry the feed proxies: a plain net/http
// server serving a packument and two 16 KiB tarballs from files. Loaded
// directly, it is the raw limit the gate's cost is measured against.
type feedUpstream struct {
	URL string
	srv *http.Server
}

func startFeedUpstream(dir string) (*feedUpstream, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &feedUpstream{URL: "http://" + l.Addr().String()}
	versions := map[string]any{}
	for _, v := range []string{"0.0.7", feedVersion} {
		name := feedPackage + "-" + v + ".tgz"
		if err := os.WriteFile(filepath.Join(dir, name), bytes.Repeat([]byte("t"), 16<<10), 0o644); err != nil {
			l.Close()
			return nil, err
		}
		versions[v] = map[string]any{"name": feedPackage, "version": v, "dist": map[string]string{"tarball": u.URL + "/" + feedPackage + "/-/" + name}}
	}
	doc, err := json.Marshal(map[string]any{"name": feedPackage, "dist-tags": map[string]string{"latest": feedVersion}, "versions": versions})
	if err != nil {
		l.Close()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "packument.json"), doc, 0o644); err != nil {
		l.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /"+feedPackage, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		http.ServeFile(w, r, filepath.Join(dir, "packument.json"))
	})
	mux.HandleFunc("GET /"+feedPackage+"/-/{file}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeFile(w, r, filepath.Join(dir, filepath.Base(r.PathValue("file"))))
	})
	u.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go u.srv.Serve(l)
	return u, nil
}

// loadResult is bench/cmd/loadgen's -json output.
type loadResult struct {
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"seconds"`
	RPS        float64 `json:"rps"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	ServerCPU  float64 `json:"server_cpu_s"`
	FirstError string  `json:"first_error"`
}

func (h *harness) feedStep() error {
	metricLat := fmt.Sprintf("Feed gate: cached artifact through the gate, %d clients (p50 / p99; p99 added over a plain Go file server)", h.cfg.feedClients)
	metricMeta := fmt.Sprintf("Feed gate: cached metadata (npm packument), %d clients: req/s, server CPU per request", h.cfg.feedLoadClients)
	notRun := func(why string) {
		h.rows = append(h.rows, row{metricLat, why, "", "", "≤ 1 ms added"}, row{metricMeta, why, "", "", "≥ 20,000 req/s"})
	}
	if h.vulngate == "" {
		notRun("not run")
		return errNoVulngate
	}
	dir := filepath.Join(h.cfg.work, "feed")
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(filepath.Join(dir, "upstream"), 0o755); err != nil {
		return err
	}
	if _, err := h.mirror("feed-mirror-npm", dataDir, fileURL(h.cfg.corpus), []string{"npm"}); err != nil {
		notRun("failed")
		return err
	}
	up, err := startFeedUpstream(filepath.Join(dir, "upstream"))
	if err != nil {
		return err
	}
	defer up.srv.Close()
	if _, err := h.measure("feed-create", nil, nil, h.vulngate, "feed", "create", "npm", "--data-dir", dataDir, "--type", "npm", "--upstream", up.URL, "--filter-blocked"); err != nil {
		notRun("failed")
		return err
	}
	loadgen := filepath.Join(h.cfg.work, "loadgen")
	build := exec.Command("go", "build", "-o", loadgen, "./bench/cmd/loadgen")
	build.Dir = h.cfg.repo
	if out, err := build.CombinedOutput(); err != nil {
		notRun("failed")
		return fmt.Errorf("go build ./bench/cmd/loadgen: %v\n%s", err, out)
	}
	srv, base, err := h.startServer("feed-serve", dataDir)
	if err != nil {
		notRun("failed")
		return err
	}
	defer srv.stop()
	// The server's start-up jobs (the advisory index) must not run during
	// the measurement.
	if err := waitIdle(srv.cmd.Process.Pid, 2*time.Minute); err != nil {
		log.Printf("feed: %v; measuring anyway", err)
	}
	gated := base + "/feeds/npm/" + feedPackage + "/-/" + feedPackage + "-" + feedVersion + ".tgz"
	meta := base + "/feeds/npm/" + feedPackage
	raw := up.URL + "/" + feedPackage + "/-/" + feedPackage + "-" + feedVersion + ".tgz"
	rawMeta := up.URL + "/" + feedPackage
	for _, u := range []string{meta, gated} { // fetched once: cached from then on
		if err := getOK(u); err != nil {
			notRun("failed")
			return err
		}
	}
	load := func(name, url string, clients, pid int) (loadResult, error) {
		args := []string{"-json", "-c", strconv.Itoa(clients), "-d", h.cfg.feedDuration.String(), "-warmup", "20", "-sources", feedSources}
		if pid > 0 {
			args = append(args, "-pid", strconv.Itoa(pid))
		}
		r, err := h.measure(name, nil, nil, loadgen, append(args, url)...)
		if err != nil {
			return loadResult{}, err
		}
		var res loadResult
		if err := json.Unmarshal([]byte(readTrim(r.Stdout)), &res); err != nil {
			return res, fmt.Errorf("%s: %v", name, err)
		}
		if res.Errors > 0 {
			return res, fmt.Errorf("%s: %d of %d requests failed, first: %s", name, res.Errors, res.Requests, res.FirstError)
		}
		return res, nil
	}
	// The plain server is this process's upstream; nothing else runs here
	// during a load (each loadgen run is a child of a child), so this
	// process's CPU time is the plain server's.
	self := os.Getpid()
	var rawRes, gatedRes, metaRes, rawMetaRes []loadResult
	for i := range h.cfg.runs {
		// Alternated, so that other work on the machine hits all alike.
		for _, m := range []struct {
			name, url string
			clients   int
			pid       int
			into      *[]loadResult
		}{
			{"feed-raw-artifact", raw, h.cfg.feedClients, self, &rawRes},
			{"feed-gated-artifact", gated, h.cfg.feedClients, srv.cmd.Process.Pid, &gatedRes},
			{"feed-raw-metadata", rawMeta, h.cfg.feedLoadClients, self, &rawMetaRes},
			{"feed-cached-metadata", meta, h.cfg.feedLoadClients, srv.cmd.Process.Pid, &metaRes},
		} {
			res, err := load(fmt.Sprintf("%s-%d", m.name, i+1), m.url, m.clients, m.pid)
			if err != nil {
				notRun("failed")
				return err
			}
			*m.into = append(*m.into, res)
		}
	}
	p99 := func(r loadResult) float64 { return r.P99ms }
	p50 := func(r loadResult) float64 { return r.P50ms }
	rps := func(r loadResult) float64 { return r.RPS }
	cpuPerReq := func(r loadResult) float64 { return 1e6 * r.ServerCPU / float64(max(1, r.Requests)) }
	added := medianOf(gatedRes, p99) - medianOf(rawRes, p99)
	h.rows = append(h.rows, row{metricLat,
		fmt.Sprintf("%.2f / %.2f ms (min p99 %.2f ms), %s req/s, %.0f µs server CPU per download", medianOf(gatedRes, p50), medianOf(gatedRes, p99), minOf(gatedRes, p99), commas(int(medianOf(gatedRes, rps))), medianOf(gatedRes, cpuPerReq)),
		fmt.Sprintf("plain server: %.2f / %.2f ms, %s req/s, %.0f µs CPU per download", medianOf(rawRes, p50), medianOf(rawRes, p99), commas(int(medianOf(rawRes, rps))), medianOf(rawRes, cpuPerReq)),
		fmt.Sprintf("p99 added %.2f ms", added), mark(added <= 1, "≤ 1 ms added")})
	metaRPS := medianOf(metaRes, rps)
	h.rows = append(h.rows, row{metricMeta,
		fmt.Sprintf("%s req/s (best %s), p99 %.2f ms, %.0f µs server CPU per request", commas(int(metaRPS)), commas(int(maxOf(metaRes, rps))), medianOf(metaRes, p99), medianOf(metaRes, cpuPerReq)),
		fmt.Sprintf("plain server: %s req/s, %.0f µs CPU per request", commas(int(medianOf(rawMetaRes, rps))), medianOf(rawMetaRes, cpuPerReq)),
		fmt.Sprintf("%.2f×", metaRPS/medianOf(rawMetaRes, rps)), mark(metaRPS >= 20000, "≥ 20,000 req/s")})
	var b strings.Builder
	fmt.Fprintf(&b, "### Feed gate (load from a separate process)\n\n`vulngate serve` on a data dir with the corpus's npm records, feed `npm` (filter blocked) in front of an upstream in the harness process; "+
		"`bench/cmd/loadgen` (separate process, %s each, 20 warm-up requests per client, connections spread over %s) loads, alternating, %d times each: the upstream's tarball directly (plain Go server, the raw limit), "+
		"the same tarball through the feed (`%s@%s`, cached, decided against the advisories), the upstream's packument and the feed's cached packument. Server CPU is the serve process's (the plain server's: the harness process's), from /proc.\n\n"+
		"| run | req/s | p50 ms | p99 ms | server CPU s |\n|---|---:|---:|---:|---:|\n", h.cfg.feedDuration, feedSources, h.cfg.runs, feedPackage, feedVersion)
	for i := range h.cfg.runs {
		for _, x := range []struct {
			name string
			r    loadResult
		}{{"plain server, tarball", rawRes[i]}, {"gate, cached tarball", gatedRes[i]}, {"plain server, packument", rawMetaRes[i]}, {"gate, cached packument", metaRes[i]}} {
			fmt.Fprintf(&b, "| %d: %s | %s | %.2f | %.2f | %.2f |\n", i+1, x.name, commas(int(x.r.RPS)), x.r.P50ms, x.r.P99ms, x.r.ServerCPU)
		}
	}
	h.details = append(h.details, b.String())
	return nil
}

func medianOf(rs []loadResult, f func(loadResult) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return runstats.Median(v)
}

func minOf(rs []loadResult, f func(loadResult) float64) float64 {
	return -maxOf(rs, func(r loadResult) float64 { return -f(r) })
}

func maxOf(rs []loadResult, f func(loadResult) float64) float64 {
	m := f(rs[0])
	for _, r := range rs[1:] {
		m = max(m, f(r))
	}
	return m
}

func getOK(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}

// server is a `vulngate serve` child process.
type server struct {
	cmd  *exec.Cmd
	done chan error
}

// startServer runs `vulngate serve` on dataDir on a free loopback port
// and waits until /healthz answers.
func (h *harness) startServer(name, dataDir string) (*server, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := l.Addr().String()
	l.Close()
	logs := filepath.Join(h.cfg.work, "logs")
	stdout, err := os.Create(filepath.Join(logs, name+".out"))
	if err != nil {
		return nil, "", err
	}
	stderr, err := os.Create(filepath.Join(logs, name+".err"))
	if err != nil {
		stdout.Close()
		return nil, "", err
	}
	cmd := exec.Command(h.vulngate, "serve", "--data-dir", dataDir, "--addr", addr)
	cmd.Env = append(os.Environ(), "VULNGATE_ADMIN_PASSWORD=bench-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		stdout.Close()
		stderr.Close()
		return nil, "", err
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	go func() {
		s.done <- cmd.Wait()
		stdout.Close()
		stderr.Close()
	}()
	base := "http://" + addr
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if getOK(base+"/healthz") == nil {
			log.Printf("%s: serving at %s (pid %d)", name, base, cmd.Process.Pid)
			return s, base, nil
		}
		select {
		case err := <-s.done:
			return nil, "", fmt.Errorf("%s exited: %v; stderr: %s", name, err, truncate(readTrim(stderr.Name()), 1500))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, "", errors.New(name + ": /healthz did not answer within 2 minutes")
		}
	}
}

// waitIdle waits until process pid used less than 2% of a core over a
// second.
func waitIdle(pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		before := runstats.CPU(pid)
		time.Sleep(time.Second)
		if runstats.CPU(pid)-before < 20*time.Millisecond {
			return nil
		}
	}
	return fmt.Errorf("process %d still busy after %s", pid, limit)
}

// stop ends the server gracefully (SIGTERM), killing its process group
// if it is still running after 30 seconds.
func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}
