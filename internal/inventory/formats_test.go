package inventory

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestReadEveryFormat reads one fixture of each lockfile and manifest kind
// not covered by the monorepo fixture, by name and again by content alone,
// and checks the package URLs the extractor gives.
func TestReadEveryFormat(t *testing.T) {
	for _, tc := range []struct {
		file string
		kind Kind
		want []string
	}{
		{"yarn.lock", "yarn.lock", []string{"pkg:npm/ansi-html@0.0.7"}},
		{"berry/yarn.lock", "yarn.lock", []string{"pkg:npm/ansi-html@0.0.7"}}, // Yarn 2+ (berry)
		{"pnpm-lock.yaml", "pnpm-lock.yaml", []string{"pkg:npm/ansi-html@0.0.7"}},
		{"bun.lock", "bun.lock", []string{"pkg:npm/ansi-html@0.0.7"}},
		{"poetry.lock", "poetry.lock", []string{"pkg:pypi/django@3.2.0", "pkg:pypi/sqlparse@0.4.1"}},
		{"Pipfile.lock", "Pipfile.lock", []string{"pkg:pypi/django@3.2.0"}},
		{"pdm.lock", "pdm.lock", []string{"pkg:pypi/django@3.2.0"}},
		{"uv.lock", "uv.lock", []string{"pkg:pypi/django@3.2.0", "pkg:pypi/sqlparse@0.4.1"}}, // the virtual root is not a package,
		{"pylock.toml", "pylock.toml", []string{"pkg:pypi/django@3.2.0"}},
		{"gradle.lockfile", "gradle.lockfile", []string{"pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.0"}},
		{"gradle/verification-metadata.xml", "verification-metadata.xml", []string{"pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.0"}},
		{"packages.lock.json", "packages.lock.json", []string{"pkg:nuget/Newtonsoft.Json@12.0.1"}},
		{"packages.config", "packages.config", []string{"pkg:nuget/Newtonsoft.Json@12.0.1"}},
		{"app.deps.json", "deps.json", []string{"pkg:nuget/Newtonsoft.Json@12.0.1", "pkg:nuget/app@1.0.0"}}, // the project itself is listed too,
		{"pubspec.lock", "pubspec.lock", []string{"pkg:pub/http@0.13.0"}},
		{"mix.lock", "mix.lock", []string{"pkg:hex/plug@1.11.0"}},
		{"renv.lock", "renv.lock", []string{"pkg:cran/readxl@1.0.0"}},
		{"conan.lock", "conan.lock", []string{"pkg:conan/zlib@1.2.11"}},
		{"Package.resolved", "Package.resolved", []string{"pkg:swift/github.com/apple/swift-nio-http2@1.19.0"}},
		{"Podfile.lock", "Podfile.lock", []string{"pkg:cocoapods/Alamofire@5.4.0"}},
		{"cabal.project.freeze", "cabal.project.freeze", []string{"pkg:hackage/aeson@1.5.6.0", "pkg:hackage/base@4.14.1.0"}},
		{"stack.yaml.lock", "stack.yaml.lock", []string{"pkg:hackage/aeson@1.5.6.0"}},
	} {
		path := filepath.Join("testdata", "formats", filepath.FromSlash(tc.file))
		res, err := ReadPath(context.Background(), path, Options{})
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		var got []string
		for _, c := range res.Components {
			if c.Err != "" {
				t.Errorf("%s: %s", tc.file, c.Err)
			}
			got = append(got, c.PURL)
		}
		slices.Sort(got)
		if res.Files[0].Kind != tc.kind || !slices.Equal(got, tc.want) {
			t.Errorf("%s: kind %s, purls %q; want %s, %q", tc.file, res.Files[0].Kind, got, tc.kind, tc.want)
		}
		// The same content without its name is recognised by content.
		data, _ := os.ReadFile(path)
		byContent, err := ReadBytes(context.Background(), "", data, Options{})
		if err != nil || byContent.Files[0].Kind != tc.kind {
			t.Errorf("%s by content: %+v, %v", tc.file, byContent, err)
		}
	}
}

// TestPythonRelationships: uv.lock names the project's own dependencies;
// poetry.lock is read against the pyproject.toml beside it.
func TestPythonRelationships(t *testing.T) {
	for _, file := range []string{"uv.lock", "poetry.lock"} {
		res, err := ReadPath(context.Background(), filepath.Join("testdata", "formats", file), Options{})
		if err != nil {
			t.Fatal(err)
		}
		rel := map[string]string{}
		for _, c := range res.Components {
			rel[c.Name] = c.Relationship
		}
		if rel["django"] != Direct || rel["sqlparse"] != Transitive {
			t.Errorf("%s: relationships %v, want django direct and sqlparse transitive", file, rel)
		}
	}
}
