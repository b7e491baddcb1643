// Package gensbom builds a deterministic CycloneDX 1.5 JSON SBOM for the scan
// benchmark from real packages in the offline OSV corpus.
//
// Components are drawn (seeded) from the affected[] entries of eight
// ecosystems. Each component is one of three kinds: a version that the source
// record marks as affected (an entry of versions[], a non-"0" introduced
// event, a last_affected event, or "1.0.0" when a range starts at "0" and has
// no upper bound), a fixed version (a fixed event; not affected by the source
// record, possibly by others), or an unknown package that no record names.
// It does not evaluate ranges itself, and it skips Go's stdlib/toolchain
// pseudo-modules and withdrawn records.
package gensbom

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/bench/internal/corpus"
)

// Ecosystems are the OSV ecosystems components are drawn from, with their
// PURL types.
var Ecosystems = []struct{ OSV, PURLType string }{
	{"Go", "golang"},
	{"PyPI", "pypi"},
	{"npm", "npm"},
	{"Maven", "maven"},
	{"crates.io", "cargo"},
	{"RubyGems", "gem"},
	{"NuGet", "nuget"},
	{"Packagist", "composer"},
}

// Kinds of component.
const (
	KindAffected = "affected" // version inside an affected range / versions list of Source
	KindFixed    = "fixed"    // a fixed event of Source
	KindUnknown  = "unknown"  // package name no record uses
)

// Component is one generated SBOM component plus where it came from.
type Component struct {
	PURL      string `json:"purl"`
	Ecosystem string `json:"ecosystem"` // OSV ecosystem
	Name      string `json:"name"`      // OSV package name
	Version   string `json:"version"`   // version as written in the SBOM/PURL
	Kind      string `json:"kind"`
	Source    string `json:"source,omitempty"` // record ID the version came from
}

// Options control generation.
type Options struct {
	N          int     // total components (default 1000)
	Seed       uint64  // PRNG seed
	FixedShare float64 // share of fixed-version components (default 0.25)
	UnknownN   int     // number of unknown components (default 20)
}

type cand struct {
	name, version, kind, source string
}

// Generate picks components from the corpus at corpusDir.
func Generate(corpusDir string, opt Options) ([]Component, error) {
	if opt.N <= 0 {
		opt.N = 1000
	}
	if opt.FixedShare == 0 {
		opt.FixedShare = 0.25
	}
	if opt.UnknownN == 0 {
		opt.UnknownN = 20
	}
	rng := rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15))

	type pool struct {
		eco, ptype      string
		affected, fixed []cand
	}
	var pools []*pool
	for _, e := range Ecosystems {
		p := &pool{eco: e.OSV, ptype: e.PURLType}
		seen := map[string]bool{}
		add := func(list *[]cand, c cand) {
			k := c.name + "@" + c.version
			if c.version == "" || seen[k] {
				return
			}
			seen[k] = true
			*list = append(*list, c)
		}
		err := corpus.Walk(corpus.ZipPath(corpusDir, e.OSV), func(r *corpus.Record) error {
			if r.Withdrawn != "" {
				return nil
			}
			for _, a := range r.Affected {
				eco, _, _ := strings.Cut(a.Package.Ecosystem, ":")
				if eco != e.OSV || a.Package.Name == "" {
					continue
				}
				if e.OSV == "Go" && (a.Package.Name == "stdlib" || a.Package.Name == "toolchain") {
					continue
				}
				name := a.Package.Name
				for _, v := range a.Versions {
					add(&p.affected, cand{name, v, KindAffected, r.ID})
				}
				for _, rg := range a.Ranges {
					if rg.Type != "SEMVER" && rg.Type != "ECOSYSTEM" {
						continue
					}
					open := false
					for _, ev := range rg.Events {
						switch {
						case ev.Introduced == "0":
							open = true
						case ev.Introduced != "":
							open = true
							add(&p.affected, cand{name, ev.Introduced, KindAffected, r.ID})
						case ev.LastAffected != "":
							open = false
							add(&p.affected, cand{name, ev.LastAffected, KindAffected, r.ID})
						case ev.Fixed != "":
							open = false
							add(&p.fixed, cand{name, ev.Fixed, KindFixed, r.ID})
						}
					}
					if open && len(a.Versions) == 0 && rg.Events[len(rg.Events)-1].Introduced == "0" {
						// "every version" range: any version is affected.
						add(&p.affected, cand{name, "1.0.0", KindAffected, r.ID})
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		rng.Shuffle(len(p.affected), func(i, j int) { p.affected[i], p.affected[j] = p.affected[j], p.affected[i] })
		rng.Shuffle(len(p.fixed), func(i, j int) { p.fixed[i], p.fixed[j] = p.fixed[j], p.fixed[i] })
		pools = append(pools, p)
	}

	var out []Component
	seen := map[string]bool{}
	emit := func(p *pool, c cand) bool {
		comp := makeComponent(p.eco, p.ptype, c)
		if seen[comp.PURL] {
			return false
		}
		seen[comp.PURL] = true
		out = append(out, comp)
		return true
	}
	// Unknown packages, spread over the ecosystems.
	for i := 0; i < opt.UnknownN; i++ {
		p := pools[i%len(pools)]
		emit(p, cand{unknownName(p.eco, i), "1.2.3", KindUnknown, ""})
	}
	// Round-robin over ecosystems; within each, fixed with probability FixedShare.
	target := opt.N
	for len(out) < target {
		progress := false
		for _, p := range pools {
			if len(out) >= target {
				break
			}
			list := &p.affected
			if rng.Float64() < opt.FixedShare && len(p.fixed) > 0 || len(p.affected) == 0 {
				list = &p.fixed
			}
			for len(*list) > 0 {
				c := (*list)[0]
				*list = (*list)[1:]
				if emit(p, c) {
					progress = true
					break
				}
			}
		}
		if !progress {
			return out, fmt.Errorf("gensbom: corpus only yields %d components", len(out))
		}
	}
	return out, nil
}

func unknownName(eco string, i int) string {
	switch eco {
	case "Go":
		return fmt.Sprintf("example.com/vulngate-bench/unknown%d", i)
	case "Maven":
		return fmt.Sprintf("com.example.vulngatebench:unknown%d", i)
	case "npm":
		return fmt.Sprintf("@vulngate-bench/unknown%d", i)
	case "Packagist":
		return fmt.Sprintf("vulngate-bench/unknown%d", i)
	}
	return fmt.Sprintf("vulngate-bench-unknown%d", i)
}

var pypiNorm = regexp.MustCompile(`[-_.]+`)

func makeComponent(eco, ptype string, c cand) Component {
	version := c.version
	if eco == "Go" && !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	var ns, name string
	switch eco {
	case "Go", "Packagist":
		if i := strings.LastIndex(c.name, "/"); i >= 0 {
			ns, name = c.name[:i], c.name[i+1:]
		} else {
			name = c.name
		}
		if eco == "Packagist" {
			ns, name = strings.ToLower(ns), strings.ToLower(name)
		}
	case "npm":
		if strings.HasPrefix(c.name, "@") {
			ns, name, _ = strings.Cut(c.name, "/")
		} else {
			name = c.name
		}
	case "Maven":
		ns, name, _ = strings.Cut(c.name, ":")
	case "PyPI":
		name = pypiNorm.ReplaceAllString(strings.ToLower(c.name), "-")
	default:
		name = c.name
	}
	var b strings.Builder
	b.WriteString("pkg:")
	b.WriteString(ptype)
	b.WriteByte('/')
	if ns != "" {
		for _, seg := range strings.Split(ns, "/") {
			b.WriteString(escape(seg))
			b.WriteByte('/')
		}
	}
	b.WriteString(escape(name))
	b.WriteByte('@')
	b.WriteString(escape(version))
	return Component{PURL: b.String(), Ecosystem: eco, Name: c.name, Version: version, Kind: c.kind, Source: c.source}
}

// escape percent-encodes everything but the PURL unreserved characters.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// SBOMGroupName returns the CycloneDX group and name of c: Maven's
// "group:artifact" is split, other names are kept whole.
func (c Component) SBOMGroupName() (group, name string) {
	if c.Ecosystem == "Maven" {
		if g, a, ok := strings.Cut(c.Name, ":"); ok {
			return g, a
		}
	}
	return "", c.Name
}

type cdxComponent struct {
	Type    string `json:"type"`
	BOMRef  string `json:"bom-ref"`
	Group   string `json:"group,omitempty"`
	Name    string `json:"name"`
	Version string `json:"version"`
	PURL    string `json:"purl"`
}

// WriteCycloneDX writes comps as a CycloneDX 1.5 JSON document.
func WriteCycloneDX(w io.Writer, comps []Component, seed uint64) error {
	cs := make([]cdxComponent, 0, len(comps))
	for i, c := range comps {
		group, name := c.SBOMGroupName()
		cs = append(cs, cdxComponent{
			Type: "library", BOMRef: fmt.Sprintf("comp-%04d", i), Group: group,
			Name: name, Version: c.Version, PURL: c.PURL,
		})
	}
	doc := map[string]any{
		"bomFormat":    "CycloneDX",
		"specVersion":  "1.5",
		"serialNumber": fmt.Sprintf("urn:uuid:%08x-0000-4000-8000-%012x", uint32(seed), seed&0xffffffffffff),
		"version":      1,
		"metadata": map[string]any{
			"timestamp": "2026-11-23T00:00:00Z",
			"component": map[string]any{"type": "application", "bom-ref": "root", "name": "vulngate-bench-sbom", "version": "1.0.0"},
		},
		"components": cs,
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// Counts returns the number of components per kind and per ecosystem.
func Counts(comps []Component) (byKind, byEco map[string]int) {
	byKind, byEco = map[string]int{}, map[string]int{}
	for _, c := range comps {
		byKind[c.Kind]++
		byEco[c.Ecosystem]++
	}
	return
}

// SortedKeys returns the keys of m, sorted.
func SortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
