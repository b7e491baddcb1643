package main

// The peer (osv-scanner): its binary and offline database, and the
// per-component comparison of the reported records.

import (
	"cmp"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/bench/internal/compare"
	"github.com/vulngate/vulngate/bench/internal/corpus"
	"github.com/vulngate/vulngate/bench/internal/gensbom"
)

// osvScannerSpec is the peer's offline scan of input, named name; nil
// with -skip-peer.
func (h *harness) osvScannerSpec(name, input string) (*spec, error) {
	if h.cfg.skipPeer {
		return nil, nil
	}
	bin, err := h.osvScannerBinary()
	if err != nil {
		return nil, err
	}
	env, err := h.osvScannerDB()
	if err != nil {
		return nil, err
	}
	// osv-scanner exits 1 when it finds vulnerabilities.
	return &spec{name: name, env: env, okExit: []int{1}, bin: bin,
		args: []string{"scan", "--offline", "--offline-vulnerabilities", "--format", "json", "-L", input}}, nil
}

// allPackages runs the peer's spec once more, untimed, with
// --all-packages: every package it recognized, for the comparison.
func (h *harness) allPackages(sp *spec) (string, error) {
	args := slices.Insert(slices.Clone(sp.args), len(sp.args)-2, "--all-packages")
	all, err := h.measure(sp.name+"-all-packages", sp.env, sp.okExit, sp.bin, args...)
	return all.Stdout, err
}

func (h *harness) osvScannerBinary() (string, error) {
	if h.cfg.osvScanner != "" {
		return h.cfg.osvScanner, nil
	}
	bin := filepath.Join(h.cfg.work, "bin", "osv-scanner")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	log.Printf("installing %s into %s (can take minutes the first time)", osvScannerModule, filepath.Dir(bin))
	cmd := exec.Command("go", "install", osvScannerModule)
	cmd.Dir = h.cfg.work // outside the vulngate module
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=auto", "GOBIN="+filepath.Dir(bin))
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install %s: %w", osvScannerModule, err)
	}
	return bin, nil
}

// osvScannerDB lays out the corpus zips as osv-scanner's offline DB cache and
// returns the environment that points osv-scanner at it.
func (h *harness) osvScannerDB() ([]string, error) {
	root := filepath.Join(h.cfg.work, "osv-scanner-db")
	for _, e := range h.ecos {
		dir := filepath.Join(root, "osv-scalibr", e)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		link := filepath.Join(dir, "all.zip")
		os.Remove(link)
		if err := os.Symlink(corpus.ZipPath(h.cfg.corpus, e), link); err != nil {
			return nil, err
		}
	}
	return []string{"OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY=" + root}, nil
}

func (h *harness) compareFindings(comps []gensbom.Component, vgOut, peerOut string) ([]row, string, error) {
	known := compare.Set{}
	for _, e := range h.ecos {
		ids, err := corpus.IDs(corpus.ZipPath(h.cfg.corpus, e))
		if err != nil {
			return nil, "", err
		}
		for _, id := range ids {
			known[id] = struct{}{}
		}
	}
	cc := make([]compare.Component, len(comps))
	kind := map[string]gensbom.Component{}
	for i, c := range comps {
		cc[i] = compare.Component{PURL: c.PURL, Ecosystem: c.Ecosystem, SBOMName: sbomName(c), Version: c.Version}
		kind[c.PURL] = c
	}
	vg, vgErrs, err := compare.Vulngate(vgOut, known)
	if err != nil {
		return nil, "", err
	}
	peer, unmapped, err := compare.OSVScanner(peerOut, cc, known)
	if err != nil {
		return nil, "", err
	}
	missing := 0
	for _, c := range comps {
		if _, ok := vg[c.PURL]; !ok {
			missing++
		}
	}
	res := compare.Compare(cc, vg, peer)
	// The same comparison restricted to records that have an affected[] entry
	// for the component's package: this leaves out record IDs a tool adds by
	// merging alias groups (records of other packages sharing a CVE).
	pkgs, err := h.recordPackages()
	if err != nil {
		return nil, "", err
	}
	own := func(m map[string]compare.Set) map[string]compare.Set {
		out := map[string]compare.Set{}
		for _, c := range comps {
			k := compare.Key(c.Ecosystem, c.Name, "")
			s := compare.Set{}
			for id := range m[c.PURL] {
				if slices.Contains(pkgs[id], k) {
					s[id] = struct{}{}
				}
			}
			out[c.PURL] = s
		}
		return out
	}
	resOwn := compare.Compare(cc, own(vg), own(peer))
	agree := []row{
		{"Scan: components with the same record IDs", fmt.Sprintf("%d / %d", res.Equal, res.Total), "", pct(res.Equal, res.Total), ""},
		{"Scan: same, counting only records that name the package", fmt.Sprintf("%d / %d", resOwn.Equal, resOwn.Total), "", pct(resOwn.Equal, resOwn.Total), ""},
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n#### Findings compared (record IDs per component)\n\n")
	fmt.Fprintf(&b, "| | vulngate | osv-scanner |\n|---|---:|---:|\n| components with ≥ 1 record | %d | %d |\n| record IDs (sum over components) | %d | %d |\n\n",
		res.WithFindingsVG, res.WithFindingsPeer, res.IDsVG, res.IDsPeer)
	fmt.Fprintf(&b, "Agreement: %d of %d components have the same set of record IDs; %d of %d when only records with an affected[] entry for the component's package are counted (this leaves out IDs added by merging alias groups: %d only-vulngate and %d only-osv-scanner IDs remain).\n",
		res.Equal, res.Total, resOwn.Equal, resOwn.Total, countIDs(resOwn.Diffs, true), countIDs(resOwn.Diffs, false))
	if missing > 0 {
		fmt.Fprintf(&b, "\n%d SBOM component(s) are absent from vulngate's report.\n", missing)
	}
	if len(vgErrs) > 0 {
		fmt.Fprintf(&b, "\nvulngate reported errors for %d component(s), e.g.:\n\n", len(vgErrs))
		n := 0
		for _, p := range sortedKeys(vgErrs) {
			if n++; n > 10 {
				break
			}
			fmt.Fprintf(&b, "- `%s`: %s\n", cmp.Or(p, "(no purl)"), strings.Join(vgErrs[p], "; "))
		}
	}
	if len(unmapped) > 0 {
		fmt.Fprintf(&b, "\n%d osv-scanner package(s) could not be mapped to an SBOM component: %s\n", len(unmapped), strings.Join(truncList(sortedKeys(unmapped), 10), ", "))
	}
	if len(res.Diffs) > 0 {
		recs, err := h.records(res.Diffs)
		if err != nil {
			return nil, "", err
		}
		type class struct{ side, eco, hint string }
		classes := map[class]int{}
		var lines strings.Builder
		lines.WriteString("\n| purl | kind (source record) | only in vulngate | only in osv-scanner |\n|---|---|---|---|\n")
		for _, d := range res.Diffs {
			c := kind[d.PURL]
			annotate := func(side string, ids []string) string {
				var parts []string
				for _, id := range ids {
					hint := compare.Hint(recs[id], c.Ecosystem, c.Name, c.Version)
					classes[class{side, c.Ecosystem, hint}]++
					parts = append(parts, fmt.Sprintf("%s [%s]", id, hint))
				}
				return strings.Join(parts, "<br>")
			}
			fmt.Fprintf(&lines, "| `%s` | %s (%s) | %s | %s |\n", d.PURL, c.Kind, c.Source, annotate("only vulngate", d.OnlyVulngate), annotate("only osv-scanner", d.OnlyPeer))
		}
		keys := make([]class, 0, len(classes))
		for k := range classes {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b class) int {
			return cmp.Or(cmp.Compare(a.side, b.side), cmp.Compare(classes[b], classes[a]), cmp.Compare(a.eco, b.eco), cmp.Compare(a.hint, b.hint))
		})
		fmt.Fprintf(&b, "\n%d component(s) disagree. Record IDs reported by one tool only, by how the record relates to the component:\n\n| reported only by | ecosystem | record vs component | IDs |\n|---|---|---|---:|\n", len(res.Diffs))
		for _, k := range keys {
			fmt.Fprintf(&b, "| %s | %s | %s | %d |\n", k.side, k.eco, k.hint, classes[k])
		}
		b.WriteString(lines.String())
	}
	return agree, b.String(), nil
}

// recordPackages maps every corpus record ID to the compare.Key (without
// version) of each package its affected[] entries name.
func (h *harness) recordPackages() (map[string][]string, error) {
	out := map[string][]string{}
	for _, e := range h.ecos {
		err := corpus.Walk(corpus.ZipPath(h.cfg.corpus, e), func(r *corpus.Record) error {
			for _, a := range r.Affected {
				base, _, _ := strings.Cut(a.Package.Ecosystem, ":")
				if k := compare.Key(base, a.Package.Name, ""); !slices.Contains(out[r.ID], k) {
					out[r.ID] = append(out[r.ID], k)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func countIDs(diffs []compare.Diff, vulngate bool) int {
	n := 0
	for _, d := range diffs {
		if vulngate {
			n += len(d.OnlyVulngate)
		} else {
			n += len(d.OnlyPeer)
		}
	}
	return n
}

func pct(a, b int) string { return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(max(b, 1))) }

// records loads the corpus records named in diffs (first copy of each ID).
func (h *harness) records(diffs []compare.Diff) (map[string]*corpus.Record, error) {
	want := map[string]bool{}
	for _, d := range diffs {
		for _, id := range append(slices.Clone(d.OnlyVulngate), d.OnlyPeer...) {
			want[id] = true
		}
	}
	out := map[string]*corpus.Record{}
	for _, e := range h.ecos {
		err := corpus.Walk(corpus.ZipPath(h.cfg.corpus, e), func(r *corpus.Record) error {
			if want[r.ID] && out[r.ID] == nil {
				out[r.ID] = r
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
