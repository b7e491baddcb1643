package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
)

// Profiling for performance work (see bench/README.md): when set,
// VULNGATE_CPUPROFILE, VULNGATE_MEMPROFILE and VULNGATE_TRACE name files
// that receive a CPU profile, a heap profile (at exit) and an execution
// trace of the whole command. They are read by "go tool pprof" and
// "go tool trace". Without VULNGATE_MEMPROFILE (or a memprofilerate in
// GODEBUG) memory profiling is off: nothing else reads it (the server has
// no profiling endpoint), and the runtime's sampled allocation records
// and their hash table took ~1.5-2 MiB of a 10,000-component scan's
// memory, counted against its soft memory limit (internal/cli).
func startProfiling() (stop func()) {
	if os.Getenv("VULNGATE_MEMPROFILE") == "" && !strings.Contains(os.Getenv("GODEBUG"), "memprofilerate=") {
		runtime.MemProfileRate = 0
	}
	var stops []func()
	if p := os.Getenv("VULNGATE_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil && pprof.StartCPUProfile(f) == nil {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		} else {
			fmt.Fprintln(os.Stderr, "vulngate: CPU profile not started:", p)
		}
	}
	if p := os.Getenv("VULNGATE_TRACE"); p != "" {
		if f, err := os.Create(p); err == nil && trace.Start(f) == nil {
			stops = append(stops, func() { trace.Stop(); f.Close() })
		} else {
			fmt.Fprintln(os.Stderr, "vulngate: trace not started:", p)
		}
	}
	if p := os.Getenv("VULNGATE_MEMPROFILE"); p != "" {
		stops = append(stops, func() {
			f, err := os.Create(p)
			if err != nil {
				return
			}
			runtime.GC()
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		})
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
