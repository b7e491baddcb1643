// Command loadgen sends HTTP GET requests from a separate process, so that
// a server's throughput and latency are measured without the load
// generator sharing its process (the feed load test in internal/server
// does). N clients each send requests back to back, cycling through the
// URLs given, for a fixed duration (or request count); it prints requests
// per second, latency percentiles, errors and, with -pid, the CPU time the
// server process used meanwhile (from /proc/<pid>/stat).
//
// On a machine the server and the generator share, the generator's own
// waits for a CPU count as latency: with the server saturating both CPUs
// of a 2-CPU machine, 200 clients on a findings list measured p99 170-300
// ms (max 400-800 ms) while the server's own log put its handlers' p99 at
// 90-180 ms. -nice N (with -pid) raises the nice value of each of the
// server's threads to N before the run, so that the generator runs as soon
// as it needs to and the server has the CPU otherwise (it got ~6% less CPU
// time: p99 129-145 ms, max 196-236 ms). The server keeps that value: an
// unprivileged process cannot lower it again.
//
// Usage:
//
//	go run ./bench/cmd/loadgen -c 200 -d 20s -H 'Authorization: Bearer KEY' URL...
//	go run ./bench/cmd/loadgen -urls FILE -c 50 -n 20000 -pid 1234 -json
//	go run ./bench/cmd/loadgen -c 200 -sources 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5 URL
//	go run ./bench/cmd/loadgen -c 200 -pid 1234 -nice 10 URL
//
// Only loopback targets are accepted.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vulngate/vulngate/bench/internal/runstats"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

// Result is what one run measured.
type Result struct {
	Clients     int         `json:"clients"`
	Requests    int         `json:"requests"`
	Errors      int         `json:"errors"`
	Seconds     float64     `json:"seconds"`
	RPS         float64     `json:"rps"`
	P50ms       float64     `json:"p50_ms"`
	P90ms       float64     `json:"p90_ms"`
	P99ms       float64     `json:"p99_ms"`
	MaxMs       float64     `json:"max_ms"`
	ServerCPU   float64     `json:"server_cpu_s,omitempty"`
	FirstError  string      `json:"first_error,omitempty"`
	StatusCodes map[int]int `json:"status_codes"`
}

func main() {
	var hdrs headers
	clients := flag.Int("c", 50, "concurrent clients")
	dur := flag.Duration("d", 10*time.Second, "duration (ignored with -n)")
	total := flag.Int("n", 0, "total requests instead of a duration")
	urlFile := flag.String("urls", "", "file with one URL per line (in addition to arguments)")
	warm := flag.Int("warmup", 0, "untimed requests per client first")
	pid := flag.Int("pid", 0, "server process whose CPU time to report")
	nice := flag.Int("nice", 0, "with -pid: set each server thread's nice value to this before the run (0: leave it), so that the generator's waits for a CPU are not counted as the server's latency")
	asJSON := flag.Bool("json", false, "print the result as JSON")
	sources := flag.String("sources", "", "comma-separated loopback source addresses the clients' connections are spread over (e.g. 127.0.0.2,127.0.0.3), for servers that limit connections per address")
	flag.Var(&hdrs, "H", "request header \"Name: value\" (repeatable)")
	flag.Parse()
	urls := flag.Args()
	if *urlFile != "" {
		f, err := os.Open(*urlFile)
		if err != nil {
			fail(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if u := strings.TrimSpace(sc.Text()); u != "" {
				urls = append(urls, u)
			}
		}
		f.Close()
	}
	if len(urls) == 0 || *clients < 1 {
		fail(errors.New("usage: loadgen [-c N] [-d D | -n N] [-H header] URL"))
	}
	for _, u := range urls {
		if err := loopbackOnly(u); err != nil {
			fail(err)
		}
	}
	var local []net.IP
	for _, a := range strings.Split(*sources, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		ip := net.ParseIP(a)
		if ip == nil || !ip.IsLoopback() {
			fail(fmt.Errorf("-sources: %q is not a loopback address", a))
		}
		local = append(local, ip)
	}
	if *nice != 0 {
		if *pid <= 0 {
			fail(errors.New("-nice needs -pid"))
		}
		if _, err := runstats.Renice(*pid, *nice); err != nil {
			fail(fmt.Errorf("-nice: %w", err))
		}
	}
	res := run(urls, hdrs, *clients, *dur, *total, *warm, *pid, local)
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	fmt.Printf("clients %d, requests %d (%d errors) in %.2f s: %.0f req/s; latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms",
		res.Clients, res.Requests, res.Errors, res.Seconds, res.RPS, res.P50ms, res.P90ms, res.P99ms, res.MaxMs)
	if *pid > 0 {
		fmt.Printf("; server CPU %.2f s (%.0f%% of one core)", res.ServerCPU, 100*res.ServerCPU/res.Seconds)
	}
	if *nice != 0 {
		fmt.Printf(", at nice %d", *nice)
	}
	fmt.Println()
	if res.FirstError != "" {
		fmt.Println("first error:", res.FirstError)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(2)
}

// loopbackOnly refuses targets that are not on this machine.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s: only loopback targets are allowed", raw)
}

func run(urls []string, hdrs []string, clients int, dur time.Duration, total, warm, pid int, local []net.IP) Result {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	if len(local) > 0 {
		var n atomic.Uint64
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			ip := local[int(n.Add(1)-1)%len(local)]
			d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}
			return d.DialContext(ctx, network, addr)
		}
	}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	do := func(u string) (int, error) {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return 0, err
		}
		for _, h := range hdrs {
			k, v, _ := strings.Cut(h, ":")
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range warm {
				do(urls[(c+i)%len(urls)])
			}
		}()
	}
	wg.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), dur)
	if total > 0 {
		ctx, cancel = context.WithCancel(context.Background())
	}
	defer cancel()
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	res := Result{Clients: clients, StatusCodes: map[int]int{}}
	cpu0 := runstats.CPU(pid)
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			codes := map[int]int{}
			errs := 0
			var firstErr string
			for ctx.Err() == nil {
				n := int(next.Add(1)) - 1
				if total > 0 && n >= total {
					break
				}
				t := time.Now()
				code, err := do(urls[(c+n)%len(urls)])
				mine = append(mine, time.Since(t))
				codes[code]++
				if err != nil || code >= 400 {
					errs++
					if firstErr == "" {
						firstErr = fmt.Sprintf("status %d: %v", code, err)
					}
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range codes {
				res.StatusCodes[k] += v
			}
			res.Errors += errs
			if res.FirstError == "" {
				res.FirstError = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res.ServerCPU = (runstats.CPU(pid) - cpu0).Seconds()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	res.Requests, res.Seconds = len(lat), elapsed.Seconds()
	res.RPS = float64(len(lat)) / elapsed.Seconds()
	res.P50ms, res.P90ms, res.P99ms = pct(0.50), pct(0.90), pct(0.99)
	if len(lat) > 0 {
		res.MaxMs = float64(lat[len(lat)-1].Microseconds()) / 1000
	}
	return res
}
