package inventory

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/mod/modfile"

	"github.com/vulngate/vulngate/internal/lazyre"
)

// Direct and transitive dependencies, where the format says which:
// go.mod marks indirect requirements; package-lock.json (v2/v3) lists the
// root's declared dependencies; Gemfile.lock has a DEPENDENCIES section;
// Cargo.lock lists the workspace members' dependencies; uv.lock lists the
// project's own (virtual or editable) package's dependencies; yarn.lock,
// pnpm-lock.yaml, bun.lock and composer.lock are read against the
// package.json / composer.json beside them, poetry.lock, pdm.lock and
// pylock.toml against the pyproject.toml beside them. Manifests declare
// only direct dependencies. Other formats leave the relationship empty
// (unknown).

// relationships returns, for k's content, a function giving a package's
// relationship, or nil when the format does not say.
func relationships(k *kind, data []byte, siblings func(string) []byte) func(name, version string) string {
	switch k.name {
	case "go.mod":
		return goModRel(data)
	case "package-lock.json":
		return npmLockRel(data)
	case "Gemfile.lock":
		return gemfileRel(data)
	case "Cargo.lock":
		return cargoRel(data)
	case "yarn.lock", "pnpm-lock.yaml", "bun.lock":
		return declaredRel(siblings, "package.json", "dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
	case "composer.lock":
		return declaredRel(siblings, "composer.json", "require", "require-dev")
	case "uv.lock":
		return uvRel(data)
	case "poetry.lock", "pdm.lock", "pylock.toml":
		return pyprojectRel(siblings)
	}
	return nil
}

func byName(direct map[string]bool) func(name, version string) string {
	return func(name, _ string) string {
		if direct[name] {
			return Direct
		}
		return Transitive
	}
}

func goModRel(data []byte) func(name, version string) string {
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		return nil
	}
	direct := map[string]bool{}
	for _, r := range f.Require {
		if !r.Indirect {
			direct[r.Mod.Path] = true
		}
	}
	for _, r := range f.Replace {
		if direct[r.Old.Path] {
			direct[r.New.Path] = true
		}
	}
	return func(name, _ string) string {
		switch {
		case name == "stdlib":
			return ""
		case direct[name]:
			return Direct
		}
		return Transitive
	}
}

func npmLockRel(data []byte) func(name, version string) string {
	var lock struct {
		Packages map[string]struct {
			Name                 string            `json:"name"`
			Version              string            `json:"version"`
			Dependencies         map[string]string `json:"dependencies"`
			DevDependencies      map[string]string `json:"devDependencies"`
			OptionalDependencies map[string]string `json:"optionalDependencies"`
			PeerDependencies     map[string]string `json:"peerDependencies"`
		} `json:"packages"`
	}
	if json.Unmarshal(data, &lock) != nil || lock.Packages == nil {
		return nil // lockfile v1 does not say which were declared
	}
	root := lock.Packages[""]
	direct := map[string]string{} // name -> the version installed at the top
	for _, deps := range []map[string]string{root.Dependencies, root.DevDependencies, root.OptionalDependencies, root.PeerDependencies} {
		for name := range deps {
			if p, ok := lock.Packages["node_modules/"+name]; ok {
				direct[name] = p.Version
			}
		}
	}
	return func(name, version string) string {
		if v, ok := direct[name]; ok && v == version {
			return Direct
		}
		return Transitive
	}
}

func gemfileRel(data []byte) func(name, version string) string {
	direct := map[string]bool{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line != "" && line[0] != ' ' {
			in = line == "DEPENDENCIES"
			continue
		}
		if in {
			f := strings.Fields(line)
			if len(f) > 0 {
				direct[strings.TrimSuffix(f[0], "!")] = true
			}
		}
	}
	return byName(direct)
}

func cargoRel(data []byte) func(name, version string) string {
	var lock struct {
		Package []struct {
			Name         string   `toml:"name"`
			Source       string   `toml:"source"`
			Dependencies []string `toml:"dependencies"`
		} `toml:"package"`
	}
	if _, err := toml.Decode(string(data), &lock); err != nil {
		return nil
	}
	direct := map[string]bool{}
	members := map[string]bool{}
	for _, p := range lock.Package {
		if p.Source != "" {
			continue
		}
		members[p.Name] = true
		for _, d := range p.Dependencies {
			name, _, _ := strings.Cut(d, " ")
			direct[name] = true
		}
	}
	return func(name, _ string) string {
		switch {
		case members[name]:
			return ""
		case direct[name]:
			return Direct
		}
		return Transitive
	}
}

// declaredRel reads the manifest beside a lockfile and counts the names
// it declares in the given sections as direct.
func declaredRel(siblings func(string) []byte, manifest string, sections ...string) func(name, version string) string {
	if siblings == nil {
		return nil
	}
	b := siblings(manifest)
	if b == nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	direct := map[string]bool{}
	for _, s := range sections {
		var deps map[string]json.RawMessage
		if json.Unmarshal(m[s], &deps) == nil {
			for name := range deps {
				direct[name] = true
			}
		}
	}
	return byName(direct)
}

func uvRel(data []byte) func(name, version string) string {
	var lock struct {
		Package []struct {
			Name   string         `toml:"name"`
			Source map[string]any `toml:"source"`
			Deps   []struct {
				Name string `toml:"name"`
			} `toml:"dependencies"`
			DevDeps map[string][]struct {
				Name string `toml:"name"`
			} `toml:"dev-dependencies"`
		} `toml:"package"`
	}
	if _, err := toml.Decode(string(data), &lock); err != nil {
		return nil
	}
	direct := map[string]bool{}
	for _, p := range lock.Package {
		if p.Source["virtual"] == nil && p.Source["editable"] == nil {
			continue
		}
		for _, d := range p.Deps {
			direct[pep503(d.Name)] = true
		}
		for _, group := range p.DevDeps {
			for _, d := range group {
				direct[pep503(d.Name)] = true
			}
		}
	}
	return func(name, _ string) string {
		if direct[pep503(name)] {
			return Direct
		}
		return Transitive
	}
}

// pyprojectRel reads the pyproject.toml beside a Python lockfile: the
// names in [project] dependencies and optional-dependencies, PEP 735
// dependency-groups, and Poetry's [tool.poetry] dependency tables.
func pyprojectRel(siblings func(string) []byte) func(name, version string) string {
	if siblings == nil {
		return nil
	}
	b := siblings("pyproject.toml")
	if b == nil {
		return nil
	}
	var pp struct {
		Project struct {
			Dependencies []string            `toml:"dependencies"`
			Optional     map[string][]string `toml:"optional-dependencies"`
		} `toml:"project"`
		Groups map[string][]any `toml:"dependency-groups"`
		Tool   struct {
			Poetry struct {
				Dependencies    map[string]any `toml:"dependencies"`
				DevDependencies map[string]any `toml:"dev-dependencies"`
				Group           map[string]struct {
					Dependencies map[string]any `toml:"dependencies"`
				} `toml:"group"`
			} `toml:"poetry"`
		} `toml:"tool"`
	}
	if _, err := toml.Decode(string(b), &pp); err != nil {
		return nil
	}
	direct := map[string]bool{}
	addReq := func(req string) {
		if m := requirementName.Regexp().FindString(strings.TrimSpace(req)); m != "" {
			direct[pep503(m)] = true
		}
	}
	for _, r := range pp.Project.Dependencies {
		addReq(r)
	}
	for _, rs := range pp.Project.Optional {
		for _, r := range rs {
			addReq(r)
		}
	}
	for _, rs := range pp.Groups {
		for _, r := range rs {
			if s, ok := r.(string); ok {
				addReq(s)
			}
		}
	}
	for _, deps := range []map[string]any{pp.Tool.Poetry.Dependencies, pp.Tool.Poetry.DevDependencies} {
		for name := range deps {
			direct[pep503(name)] = true
		}
	}
	for _, g := range pp.Tool.Poetry.Group {
		for name := range g.Dependencies {
			direct[pep503(name)] = true
		}
	}
	delete(direct, "python")
	if len(direct) == 0 {
		return nil
	}
	return func(name, _ string) string {
		if direct[pep503(name)] {
			return Direct
		}
		return Transitive
	}
}

// requirementName is the project name at the start of a PEP 508
// requirement.
var requirementName = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9._-]*`)

// pep503 normalizes a Python project name.
func pep503(name string) string {
	return strings.ToLower(pep503Sep.Regexp().ReplaceAllString(name, "-"))
}

var pep503Sep = lazyre.New(`[-_.]+`)
