// Package cputime reads the CPU time (user + system) the process has used,
// for commands that report their own cost (vulngate mirror's "synced in"
// line) and for benchmarks that report CPU per operation. It measures the
// whole process, not one goroutine or thread, and reports nothing on
// platforms without getrusage.
package cputime
