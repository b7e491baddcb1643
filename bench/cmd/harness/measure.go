package main

// Timed runs of a command: wall time, CPU and peak RSS of the measured process.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vulngate/vulngate/bench/internal/runstats"
)

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
			if cpu, rss, ok := runstats.Exited(ps); ok {
				u.MaxRSSKiB, u.CPUNS = rss, int64(cpu)
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

// median is the run of median wall time.
func median(rs []run) run {
	return runstats.MedianFunc(rs, func(a, b run) int { return cmp.Compare(a.Wall, b.Wall) })
}

func medianCPU(rs []run) time.Duration {
	cpus := make([]time.Duration, len(rs))
	for i, r := range rs {
		cpus[i] = r.CPU
	}
	return runstats.Median(cpus)
}

// rssLimitKiB is the peak-RSS target, 150 MB, read as decimal
// megabytes (150,000,000 bytes = 143.05 MiB): the stricter reading of "MB".
const rssLimitKiB = 150_000_000 / 1024

// rssTarget marks a peak RSS in KiB against rssLimitKiB.
func rssTarget(kib int64) string {
	return mark(kib <= rssLimitKiB, "≤ 150 MB (143.1 MiB)")
}

func maxKiB(rs []run) int64 {
	var m int64
	for _, r := range rs {
		m = max(m, r.MaxRSSKiB)
	}
	return m
}

// alternate warms each spec up once, then times h.cfg.runs runs of each,
// alternating between them so that changes in machine load hit every
// command alike. Nil specs are left out; a spec stops at its first failure
// (kept in err).
func (h *harness) alternate(specs ...*spec) { h.alternateN(h.cfg.runs, specs...) }

// alternateN is alternate with n timed runs of each spec.
func (h *harness) alternateN(n int, specs ...*spec) {
	for _, sp := range specs {
		if sp != nil {
			if _, sp.err = h.measure(sp.name+"-warmup", sp.env, sp.okExit, sp.bin, sp.args...); sp.err != nil {
				sp.done = true
			}
		}
	}
	for i := 1; i <= n; i++ {
		for _, sp := range specs {
			if sp == nil || sp.done {
				continue
			}
			r, err := h.measure(fmt.Sprintf("%s-%d", sp.name, i), sp.env, sp.okExit, sp.bin, sp.args...)
			if err != nil {
				sp.err, sp.done = err, true
				continue
			}
			sp.runs = append(sp.runs, r)
		}
	}
}
