package inventory

import (
	"context"
	"strings"
	"testing"
)

// FuzzReadBytes checks that no input, under any name or forced kind,
// panics (every extractor runs under a guard) and that an error never
// comes with results.
func FuzzReadBytes(f *testing.F) {
	f.Add("package-lock.json", "", []byte(`{"lockfileVersion":3,"packages":{"":{"dependencies":{"a":"1"}},"node_modules/a":{"version":"1.0.0"}}}`))
	f.Add("go.mod", "", []byte("module x\n\ngo 1.21\n\nrequire a.b/c v1.0.0 // indirect\n"))
	f.Add("Cargo.lock", "", []byte("version = 3\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\n"))
	f.Add("Gemfile.lock", "", []byte("GEM\n  specs:\n    a (1.0.0-x86_64-linux)\n\nDEPENDENCIES\n  a\n"))
	f.Add("status", "dpkg-status", []byte("Package: a\nStatus: install ok installed\nSource: b (2)\nVersion: 1\n\n"))
	f.Add("installed", "apk-installed", []byte("P:a\nV:1-r0\no:b\n\n"))
	f.Add("yarn.lock", "", []byte("# yarn lockfile v1\n\na@^1:\n  version \"1.0.0\"\n"))
	f.Add("pnpm-lock.yaml", "", []byte("lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      a:\n        version: 1.0.0\npackages:\n  a@1.0.0: {}\n"))
	f.Add("poetry.lock", "", []byte("[[package]]\nname = \"a\"\nversion = \"1.0\"\n"))
	f.Add("pom.xml", "", []byte("<project><dependencies><dependency><groupId>g</groupId><artifactId>a</artifactId><version>${v}</version></dependency></dependencies></project>"))
	f.Add("", "", []byte("django==3.2.0\n"))
	f.Fuzz(func(t *testing.T, name, kind string, data []byte) {
		if kind != "" {
			if _, ok := kindByName(kind); !ok {
				kind = ""
			}
		}
		if strings.ContainsRune(name, 0) {
			return
		}
		res, err := ReadBytes(context.Background(), name, data, Options{Kind: kind})
		if err != nil && res != nil {
			t.Fatalf("error %v with a result %+v", err, res)
		}
		if err == nil && (res == nil || len(res.Files) != 1) {
			t.Fatalf("result %+v without exactly one file", res)
		}
	})
}
