package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/vulngate/vulngate/bench/internal/genlock"
	"github.com/vulngate/vulngate/bench/internal/gensbom"
)

// lockfileStep times a scan of a generated npm package-lock.json by both
// tools on the same file and the same corpus (vulngate's store mirrored
// from it, osv-scanner's offline database laid out from it), alternating
// timed runs after one warm-up each, and compares their record IDs per
// package.
func (h *harness) lockfileStep() error {
	dir := filepath.Join(h.cfg.work, "lockfile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pkgs, err := genlock.Generate(h.cfg.corpus, h.cfg.lockSize)
	if err != nil {
		return err
	}
	lockPath := filepath.Join(dir, "package-lock.json")
	f, err := os.Create(lockPath)
	if err != nil {
		return err
	}
	if err := genlock.WritePackageLock(f, pkgs); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	log.Printf("package-lock.json %s: %d packages", lockPath, len(pkgs))

	var vgSpec, peerSpec *spec
	var vgErr, peerErr error
	if h.vulngate == "" {
		vgErr = errNoVulngate
	} else {
		data := h.fullData
		if data == "" {
			data = filepath.Join(h.cfg.work, "data-lockfile")
			if _, err := os.Stat(filepath.Join(data, "vulngate.db")); err != nil {
				if _, vgErr = h.mirror("lockfile-mirror", data, fileURL(h.cfg.corpus), h.ecos); vgErr != nil {
					vgErr = fmt.Errorf("mirror for the lockfile scan: %w", vgErr)
				}
			}
		}
		if vgErr == nil {
			vgSpec = &spec{name: "lockfile-vulngate", bin: h.vulngate, args: []string{"scan", "--data-dir", data, "--source", "osv", "--format", "json", lockPath}}
		}
	}
	peerSpec, peerErr = h.osvScannerSpec("lockfile-osv-scanner", lockPath)
	h.alternate(vgSpec, peerSpec)
	var vg, peer []run
	if vgSpec != nil {
		vg, vgErr = vgSpec.runs, vgSpec.err
	}
	var peerAll string
	if peerSpec != nil {
		peer, peerErr = peerSpec.runs, peerSpec.err
		if peerErr == nil {
			peerAll, peerErr = h.allPackages(peerSpec)
		}
	}
	cell := func(rs []run, err error, skipped bool, f func([]run) string) string {
		switch {
		case skipped:
			return "skipped"
		case err != nil:
			return "failed"
		case len(rs) == 0:
			return "not run"
		}
		return f(rs)
	}
	minMed := func(rs []run) string {
		walls := make([]float64, len(rs))
		for i, r := range rs {
			walls[i] = r.Wall.Seconds()
		}
		slices.Sort(walls)
		return fmt.Sprintf("%.3f s (min %.3f)", median(rs).Wall.Seconds(), walls[0])
	}
	cpu := func(rs []run) string { return fmt.Sprintf("%.3f s", medianCPU(rs).Seconds()) }
	ratio, cpuRatio := "", ""
	if len(vg) > 0 && len(peer) > 0 {
		ratio = fmt.Sprintf("%.2f", median(vg).Wall.Seconds()/median(peer).Wall.Seconds())
		cpuRatio = fmt.Sprintf("%.2f", medianCPU(vg).Seconds()/medianCPU(peer).Seconds())
	}
	h.rows = append(h.rows,
		row{fmt.Sprintf("Scan %s-package package-lock.json (median of %d)", commas(len(pkgs)), h.cfg.runs), cell(vg, vgErr, false, minMed), cell(peer, peerErr, h.cfg.skipPeer, minMed), ratio, ""},
		row{"Lockfile scan: CPU time user+sys (median)", cell(vg, vgErr, false, cpu), cell(peer, peerErr, h.cfg.skipPeer, cpu), cpuRatio, ""},
	)
	var b strings.Builder
	fmt.Fprintf(&b, "### Lockfile scan\n\n`%s`: %d npm packages from the corpus's npm records (%d declared by the root).\n\n", lockPath, len(pkgs), len(pkgs)/10)
	if len(vg) > 0 && len(peer) > 0 {
		comps := make([]gensbom.Component, len(pkgs))
		for i, p := range pkgs {
			ns, name := "", p.Name
			if strings.HasPrefix(p.Name, "@") {
				ns, name, _ = strings.Cut(p.Name, "/")
			}
			comps[i] = gensbom.Component{PURL: packageurl.NewPackageURL("npm", ns, name, p.Version, nil, "").ToString(),
				Ecosystem: "npm", Name: p.Name, Version: p.Version, Kind: "locked"}
		}
		agree, text, err := h.compareFindings(comps, vg[len(vg)-1].Stdout, peerAll)
		if err != nil {
			fmt.Fprintf(&b, "Comparison failed: %v\n", err)
		} else {
			for i := range agree {
				agree[i].metric = strings.Replace(agree[i].metric, "Scan:", "Lockfile scan:", 1)
			}
			h.rows = append(h.rows, agree...)
			b.WriteString(text)
		}
	}
	h.details = append(h.details, b.String())
	return errors.Join(vgErr, peerErr)
}
