package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ---- process start-up (part of the scan step) ----

// startupRuns is how many times each process of startupRows runs: they
// take milliseconds, so more runs than the scans' -runs.
const startupRuns = 20

// startupRows times what every short command pays before its work, beside
// the peer's: `vulngate --version` (process start and package init)
// against `osv-scanner --version`, and a scan of one package URL (that
// plus the store's open and close and one lookup) on the scan's data dir.
// The runs alternate; CPU is the figure (walls of milliseconds follow the
// machine's load), walls are in the details.
func (h *harness) startupRows(data string) error {
	if h.vulngate == "" {
		return nil
	}
	if _, err := os.Stat(data); err != nil {
		return fmt.Errorf("start-up: no scan data dir: %w", err)
	}
	version := &spec{name: "start-vulngate-version", bin: h.vulngate, args: []string{"--version"}}
	scanOne := &spec{name: "start-vulngate-scan-one", bin: h.vulngate, args: []string{"scan", "--data-dir", data, "--format", "json", "pkg:npm/left-pad@1.3.0"}}
	var peer *spec
	if !h.cfg.skipPeer {
		bin, err := h.osvScannerBinary()
		if err != nil {
			return err
		}
		peer = &spec{name: "start-osv-scanner-version", bin: bin, args: []string{"--version"}}
	}
	h.alternateN(startupRuns, version, scanOne, peer)

	ms := func(sp *spec) string {
		switch {
		case sp == nil:
			return "skipped"
		case sp.err != nil:
			return "failed"
		case len(sp.runs) == 0:
			return "not run"
		}
		return fmt.Sprintf("%.1f ms", float64(medianCPU(sp.runs).Microseconds())/1000)
	}
	ratio := ""
	if len(version.runs) > 0 && peer != nil && len(peer.runs) > 0 {
		ratio = fmt.Sprintf("%.2f", medianCPU(version.runs).Seconds()/medianCPU(peer.runs).Seconds())
	}
	h.rows = append(h.rows,
		row{fmt.Sprintf("Process start (`--version`): CPU user+sys, median of %d", startupRuns), ms(version), ms(peer), ratio, ""},
		row{fmt.Sprintf("Process start + store open (`scan` of one package URL): CPU, median of %d", startupRuns), ms(scanOne), "–", "", ""},
	)
	var b strings.Builder
	b.WriteString("### Process start-up\n\n")
	for _, sp := range []*spec{version, scanOne, peer} {
		if sp == nil {
			continue
		}
		if sp.err != nil {
			fmt.Fprintf(&b, "- `%s %s`: %v\n", filepath.Base(sp.bin), strings.Join(sp.args, " "), truncate(sp.err.Error(), 500))
			continue
		}
		var ts []string
		for _, r := range sp.runs {
			ts = append(ts, fmt.Sprintf("%.1f/%.1f", float64(r.Wall.Microseconds())/1000, float64(r.CPU.Microseconds())/1000))
		}
		fmt.Fprintf(&b, "- `%s %s` runs, wall/cpu (ms): %s\n", filepath.Base(sp.bin), strings.Join(sp.args, " "), strings.Join(ts, ", "))
	}
	h.details = append(h.details, b.String())
	var err error
	if peer != nil {
		err = peer.err
	}
	return errors.Join(version.err, scanOne.err, err)
}
