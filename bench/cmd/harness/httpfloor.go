package main

// The incremental refresh's raw limit: the requests a delta refresh made,
// made again by a minimal Go HTTP client in a fresh process.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vulngate/vulngate/bench/internal/bucket"
)

// floorEnv names the file of request paths a copy of this program started
// with it fetches (floorChild) instead of running the harness.
const floorEnv = "VULNGATE_BENCH_HTTP_FLOOR"

// floorLine starts the line floorChild prints its own time on, as
// vulngate mirror prints "synced in".
const floorLine = "fetched in "

// floorRecordsPerWorker and floorMaxWorkers are the concurrency of
// vulngate's per-record downloads (osvmirror's recordsPerWorker and
// fetchWorkers), which the floor copies: 4 workers for the corpus's 25
// records, the fastest of 1, 2, 4 and 16 over loopback here.
const (
	floorRecordsPerWorker = 8
	floorMaxWorkers       = 16
)

// httpFloor measures the floor of a refresh that made reqs against
// baseURL: the same successful GETs from a fresh process that does nothing
// else with the bytes (floorChild). Like the sync's "synced in" line, the
// process times its requests itself, without its start.
func (h *harness) httpFloor(name, baseURL string, reqs []bucket.Request) (run, error) {
	var paths []string
	for _, r := range reqs {
		if r.Method == http.MethodGet && r.Status == http.StatusOK {
			paths = append(paths, r.Path)
		}
	}
	list := filepath.Join(h.cfg.work, "logs", name+".paths")
	if err := os.WriteFile(list, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
		return run{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return run{}, err
	}
	return h.measure(name, []string{floorEnv + "=" + list}, nil, self, baseURL)
}

// floorChild fetches the paths listed in the file list from args[0] as a
// delta refresh does, with nothing else: the files that are not records
// (ecosystems.txt, modified_id.csv) at once, each on a connection of its
// own, then the records (*.json) with the refresh's concurrency. Each body
// is read to its end and dropped. It prints its own wall and CPU time to
// out.
func floorChild(list string, args []string, out io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "http floor: want one base URL")
		return 2
	}
	b, err := os.ReadFile(list)
	if err != nil {
		fmt.Fprintln(os.Stderr, "http floor:", err)
		return 2
	}
	var lists, records []string
	for _, p := range strings.Fields(string(b)) {
		if strings.HasSuffix(p, ".json") {
			records = append(records, p)
		} else {
			lists = append(lists, p)
		}
	}
	workers := min(floorMaxWorkers, (len(records)+floorRecordsPerWorker-1)/floorRecordsPerWorker)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: max(floorMaxWorkers, len(lists))}}
	base := strings.TrimSuffix(args[0], "/")
	return timeItself(out, "http floor", floorLine, func() (string, error) {
		var total atomic.Int64
		var failed firstError
		get := func(p string) {
			n, err := fetchBody(client, base+p)
			total.Add(n)
			failed.set(err)
		}
		var wg sync.WaitGroup
		for _, p := range lists {
			wg.Go(func() { get(p) })
		}
		wg.Wait()
		jobs := make(chan string)
		for range workers {
			wg.Go(func() {
				for p := range jobs {
					get(p)
				}
			})
		}
		for _, p := range records {
			jobs <- p
		}
		close(jobs)
		wg.Wait()
		return fmt.Sprintf("%d requests, %d bytes, %d workers for the records", len(lists)+len(records), total.Load(), workers), failed.err
	})
}

// fetchBody GETs url and reads its body to the end.
func fetchBody(client *http.Client, url string) (int64, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", url, resp.Status)
	}
	return n, err
}
