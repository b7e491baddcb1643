package runstats

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/cputime"
)

func TestMedian(t *testing.T) {
	if got := Median([]time.Duration{3, 1, 2}); got != 2 {
		t.Errorf("odd count: %v", got)
	}
	if got := Median([]float64{4, 1, 3, 2}); got != 3 {
		t.Errorf("even count: %v, want the upper middle", got)
	}
	if got := Median([]int(nil)); got != 0 {
		t.Errorf("none: %v", got)
	}
	xs := []int{5, 1, 4}
	Median(xs)
	if xs[0] != 5 || xs[1] != 1 {
		t.Errorf("Median sorted its argument: %v", xs)
	}
	type run struct{ wall, cpu int }
	byWall := func(a, b run) int { return a.wall - b.wall }
	if got := MedianFunc([]run{{3, 0}, {1, 1}, {2, 2}}, byWall); got != (run{2, 2}) {
		t.Errorf("MedianFunc: %v", got)
	}
	if got := MedianFunc(nil, byWall); got != (run{}) {
		t.Errorf("MedianFunc of none: %v", got)
	}
}

// The readers agree with what the kernel reports otherwise, and say
// "unknown" the way their callers expect.
func TestReaders(t *testing.T) {
	self, ok := cputime.Process()
	if !ok {
		t.Skip("no getrusage here")
	}
	for { // at least 100 ms of CPU: 10 ticks of /proc
		if d, _ := cputime.Process(); d-self >= 100*time.Millisecond {
			break
		}
	}
	cpu := CPU(os.Getpid())
	tree := TreeCPU(os.Getpid()) // read later, and with more in it
	if cpu <= 0 || tree < cpu {
		t.Errorf("this process: CPU %v, TreeCPU %v", cpu, tree)
	}
	if CPU(0) != 0 || CPU(1<<30) != 0 || TreeCPU(1<<30) != -1 {
		t.Errorf("unknown processes: %v %v %v", CPU(0), CPU(1<<30), TreeCPU(1<<30))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if cpu, rss, ok := Exited(cmd.ProcessState); !ok || cpu <= 0 || rss <= 0 {
		t.Errorf("Exited: %v %d KiB %v", cpu, rss, ok)
	}
	if _, _, ok := Exited(nil); ok {
		t.Error("Exited(nil) reports a usage")
	}
	if l := LoadAvg(3); len(strings.Fields(l)) != 3 || LoadAvg(1) == "?" {
		t.Errorf("load average %q / %q", l, LoadAvg(1))
	}
}

// Renice raises the nice value of each thread of another process.
func TestRenice(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	n, err := Renice(cmd.Process.Pid, 7)
	if err != nil || n < 1 {
		t.Fatalf("Renice: %d threads, %v", n, err)
	}
	// Field 19 of /proc/<pid>/stat (17 from the state on) is the nice value.
	if f := statFields(cmd.Process.Pid); len(f) < 17 || f[16] != "7" {
		t.Errorf("nice value after Renice: %v", f)
	}
	if _, err := Renice(1<<30, 7); err == nil {
		t.Error("Renice of no process: no error")
	}
}
