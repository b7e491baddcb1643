// Package genlock builds a deterministic npm package-lock.json (lockfile
// version 3) for the lockfile scan benchmark from real npm packages of the
// offline OSV corpus.
//
// Packages are the npm package names the corpus's records name, each at a
// version the record lists (versions[]) or, for a range, a version inside it
// (a non-"0" introduced event, else "1.0.0"); in name order, every third one
// is shifted to a fixed version when the record has one, so that not every
// package is affected. When the corpus names fewer packages than asked
// for, packages no record names fill the rest. The first tenth are declared
// as the root's dependencies (direct), the rest are transitive. It does not
// evaluate ranges itself.
package genlock

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vulngate/vulngate/bench/internal/corpus"
)

// Package is one locked package.
type Package struct {
	Name, Version string
}

// Generate returns n packages drawn from the npm records of the corpus.
func Generate(corpusDir string, n int) ([]Package, error) {
	versions := map[string]string{}
	fixed := map[string]string{}
	err := corpus.Walk(corpus.ZipPath(corpusDir, "npm"), func(r *corpus.Record) error {
		if r.Withdrawn != "" {
			return nil
		}
		for _, a := range r.Affected {
			name := a.Package.Name
			if a.Package.Ecosystem != "npm" || name == "" || versions[name] != "" {
				continue
			}
			v := ""
			if len(a.Versions) > 0 {
				v = a.Versions[0]
			}
			for _, rg := range a.Ranges {
				for _, e := range rg.Events {
					switch {
					case v == "" && e.Introduced != "" && e.Introduced != "0":
						v = e.Introduced
					case e.Fixed != "" && fixed[name] == "":
						fixed[name] = e.Fixed
					}
				}
			}
			if v == "" {
				v = "1.0.0"
			}
			versions[name] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(versions))
	for name := range versions {
		names = append(names, name)
	}
	slices.Sort(names)
	var out []Package
	for i, name := range names {
		if len(out) == n {
			break
		}
		v := versions[name]
		if f := fixed[name]; f != "" && i%3 == 2 {
			v = f
		}
		out = append(out, Package{Name: name, Version: v})
	}
	for i := 0; len(out) < n; i++ {
		out = append(out, Package{Name: fmt.Sprintf("vulngate-bench-unknown-%d", i), Version: "1.0.0"})
	}
	return out, nil
}

// WritePackageLock writes pkgs as a package-lock.json (v3): every package
// under node_modules/, the first tenth declared by the root.
func WritePackageLock(w io.Writer, pkgs []Package) error {
	type entry struct {
		Name         string            `json:"name,omitempty"`
		Version      string            `json:"version"`
		Resolved     string            `json:"resolved,omitempty"`
		Dependencies map[string]string `json:"dependencies,omitempty"`
	}
	root := entry{Name: "bench-app", Version: "1.0.0", Dependencies: map[string]string{}}
	packages := map[string]entry{}
	for i, p := range pkgs {
		if i < len(pkgs)/10 {
			root.Dependencies[p.Name] = p.Version
		}
		base := p.Name[strings.LastIndex(p.Name, "/")+1:]
		packages["node_modules/"+p.Name] = entry{Version: p.Version, Resolved: "https://registry.example/" + p.Name + "/-/" + base + "-" + p.Version + ".tgz"}
	}
	packages[""] = root
	doc := map[string]any{"name": "bench-app", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": packages}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
