package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/vulngate/vulngate/bench/internal/gensbom"
)

// ---- 3. scan vs osv-scanner ----

// scanStep compares scans of the generated SBOMs (-sbom-size and
// -sbom-size-large components) and of a real one (-real-sbom).
func (h *harness) scanStep() error {
	dir := filepath.Join(h.cfg.work, "sbom")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	for _, n := range []int{h.cfg.sbomSize, h.cfg.sbomSizeLarge} {
		if n <= 0 {
			continue
		}
		comps, err := gensbom.Generate(h.cfg.corpus, gensbom.Options{N: n, Seed: h.cfg.seed})
		if err != nil {
			return err
		}
		sbomPath := filepath.Join(dir, fmt.Sprintf("bench-%d.cdx.json", n))
		f, err := os.Create(sbomPath)
		if err != nil {
			return err
		}
		if err := gensbom.WriteCycloneDX(f, comps, h.cfg.seed); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		errs = append(errs, h.scanOne(fmt.Sprintf("%d-component generated CycloneDX SBOM", len(comps)), sbomPath, comps, 0.1))
	}
	if h.cfg.realSBOM != "" {
		// osv-scanner reads CycloneDX only from files named *.cdx.json.
		p := filepath.Join(dir, strings.TrimSuffix(filepath.Base(h.cfg.realSBOM), ".json")+".cdx.json")
		b, err := os.ReadFile(h.cfg.realSBOM)
		if err == nil {
			err = os.WriteFile(p, b, 0o644)
		}
		if err != nil {
			return err
		}
		errs = append(errs, h.scanOne("real SBOM "+filepath.Base(h.cfg.realSBOM)+" (parse included)", p, nil, 0.25))
	}
	data := h.fullData
	if data == "" {
		data = filepath.Join(h.cfg.work, "data-scan")
	}
	errs = append(errs, h.startupRows(data))
	return errors.Join(errs...)
}

// scanOne times both tools on one SBOM. comps, when known (generated
// SBOMs), drive the per-component comparison of reported records.
func (h *harness) scanOne(label, sbomPath string, comps []gensbom.Component, target float64) error {
	byKind, byEco := gensbom.Counts(comps)
	log.Printf("SBOM %s (%s)", sbomPath, label)
	tag := strings.TrimSuffix(filepath.Base(sbomPath), ".cdx.json")

	// Both tools see all the corpus's ecosystems, i.e. the same records.
	var vg, peer []run
	var vgErr, peerErr error
	var vgSpec, peerSpec *spec
	if h.vulngate == "" {
		vgErr = errNoVulngate
	} else {
		data := h.fullData
		if data == "" {
			data = filepath.Join(h.cfg.work, "data-scan")
			if _, vgErr = h.mirror("scan-mirror", data, fileURL(h.cfg.corpus), h.ecos); vgErr != nil {
				vgErr = fmt.Errorf("mirror for scan: %w", vgErr)
			}
		}
		if vgErr == nil {
			vgSpec = &spec{name: "scan-vulngate-" + tag, bin: h.vulngate, args: []string{"scan", "--data-dir", data, "--format", "json", sbomPath}}
		}
	}
	peerSpec, peerErr = h.osvScannerSpec("scan-osv-scanner-"+tag, sbomPath)
	h.alternate(vgSpec, peerSpec)
	if vgSpec != nil {
		vg, vgErr = vgSpec.runs, vgSpec.err
	}
	var peerAll string // osv-scanner --all-packages output
	if peerSpec != nil {
		peer, peerErr = peerSpec.runs, peerSpec.err
		if peerErr == nil && comps != nil {
			peerAll, peerErr = h.allPackages(peerSpec)
		}
	}

	vgMed, peerMed := median(vg), median(peer)
	cell := func(rs []run, med run, err error, skipped bool, f func(run) string) string {
		switch {
		case skipped:
			return "skipped"
		case err != nil:
			return "failed"
		case len(rs) == 0:
			return "not run"
		}
		return f(med)
	}
	secs := func(r run) string { return fmt.Sprintf("%.3f s", r.Wall.Seconds()) }
	maxRSS := func(rs []run) func(run) string {
		return func(run) string {
			var m run
			for _, r := range rs {
				if r.MaxRSSKiB > m.MaxRSSKiB {
					m = r
				}
			}
			return mib(m)
		}
	}
	ratio, rssRatio, cpuRatio, ok := "", "", "", false
	cpuMed := func(rs []run) func(run) string {
		return func(run) string { return fmt.Sprintf("%.3f s", medianCPU(rs).Seconds()) }
	}
	if len(vg) > 0 && len(peer) > 0 {
		x := vgMed.Wall.Seconds() / peerMed.Wall.Seconds()
		ratio, ok = fmt.Sprintf("%.2f", x), x <= target
		rssRatio = fmt.Sprintf("%.2f", float64(maxKiB(vg))/float64(maxKiB(peer)))
		cpuRatio = fmt.Sprintf("%.2f", medianCPU(vg).Seconds()/medianCPU(peer).Seconds())
	}
	targetText := fmt.Sprintf("≤ %.2g", target)
	if ratio != "" {
		targetText = mark(ok, targetText)
	}
	rssMark := ""
	if len(vg) > 0 {
		rssMark = rssTarget(maxKiB(vg))
	}
	title := fmt.Sprintf("Scan %s: wall, median of %d (min)", label, h.cfg.runs)
	minWall := func(rs []run) string {
		m := rs[0].Wall
		for _, r := range rs {
			m = min(m, r.Wall)
		}
		return fmt.Sprintf(" (%.3f s)", m.Seconds())
	}
	wall := func(rs []run) func(run) string {
		return func(r run) string { return secs(r) + minWall(rs) }
	}
	h.rows = append(h.rows,
		row{title, cell(vg, vgMed, vgErr, false, wall(vg)), cell(peer, peerMed, peerErr, h.cfg.skipPeer, wall(peer)), ratio, targetText},
		row{"Scan " + tag + ": CPU time user+sys (median)", cell(vg, vgMed, vgErr, false, cpuMed(vg)), cell(peer, peerMed, peerErr, h.cfg.skipPeer, cpuMed(peer)), cpuRatio, ""},
		row{"Scan " + tag + ": peak RSS (max over runs)", cell(vg, vgMed, vgErr, false, maxRSS(vg)), cell(peer, peerMed, peerErr, h.cfg.skipPeer, maxRSS(peer)), rssRatio, rssMark},
	)

	var b strings.Builder
	fmt.Fprintf(&b, "### Scan: %s\n\nSBOM `%s`: %d generated components (seed %d); by kind:", label, sbomPath, len(comps), h.cfg.seed)
	for _, k := range gensbom.SortedKeys(byKind) {
		fmt.Fprintf(&b, " %s %d,", k, byKind[k])
	}
	b.WriteString(" by ecosystem:")
	for _, k := range gensbom.SortedKeys(byEco) {
		fmt.Fprintf(&b, " %s %d,", k, byEco[k])
	}
	b.WriteString("\n\n")
	for _, x := range []struct {
		name string
		rs   []run
		err  error
	}{{"vulngate", vg, vgErr}, {"osv-scanner", peer, peerErr}} {
		if x.err != nil {
			fmt.Fprintf(&b, "- %s: %v\n", x.name, truncate(x.err.Error(), 1500))
			continue
		}
		var ts []string
		for _, r := range x.rs {
			ts = append(ts, fmt.Sprintf("%.3f/%.3f", r.Wall.Seconds(), r.CPU.Seconds()))
		}
		if len(ts) > 0 {
			fmt.Fprintf(&b, "- %s runs, wall/cpu (s): %s; peak RSS max %.1f MiB\n", x.name, strings.Join(ts, ", "), float64(maxKiB(x.rs))/1024)
		}
	}
	if len(vg) > 0 && len(peer) > 0 && comps != nil {
		agree, text, err := h.compareFindings(comps, vg[len(vg)-1].Stdout, peerAll)
		if err != nil {
			fmt.Fprintf(&b, "\nComparison failed: %v\n", err)
		} else {
			h.rows = append(h.rows, agree...)
			b.WriteString(text)
		}
	}
	h.details = append(h.details, b.String())
	return errors.Join(vgErr, peerErr)
}
