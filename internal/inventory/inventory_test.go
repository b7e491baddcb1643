package inventory

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadMonorepo(t *testing.T) {
	dir := filepath.Join("testdata", "monorepo")
	res, err := ReadPath(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range res.Files {
		if f.Error != "" {
			t.Errorf("%s: %s", f.Path, f.Error)
		}
		rel, _ := filepath.Rel(dir, f.Path)
		files = append(files, filepath.ToSlash(rel)+" "+string(f.Kind))
	}
	// node_modules and vendor are not entered.
	want := []string{
		"api/go.mod go.mod", "java/pom.xml pom.xml", "ml/requirements.txt requirements.txt", "php/composer.lock composer.lock",
		"rootfs/var/lib/dpkg/status dpkg-status", "ruby/Gemfile.lock Gemfile.lock", "rust/Cargo.lock Cargo.lock",
		"sbom/app.cdx.json cyclonedx-json", "web/package-lock.json package-lock.json",
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	type row struct{ PURL, Rel, File string }
	got := map[string]row{}
	for _, c := range res.Components {
		rel, _ := filepath.Rel(dir, c.File)
		if c.Err != "" {
			t.Errorf("%s: %s", c.PURL, c.Err)
		}
		got[c.PURL] = row{c.PURL, c.Relationship, filepath.ToSlash(rel) + ":" + itoa(c.Line)}
	}
	for _, w := range []row{
		{"pkg:golang/code.gitea.io/gitea@1.11.0", Direct, "api/go.mod:5"},
		{"pkg:golang/github.com/hashicorp/vault@1.8.0", Transitive, "api/go.mod:7"},
		{"pkg:golang/stdlib@1.20", "", "api/go.mod:3"},
		{"pkg:npm/express@4.17.1", Direct, "web/package-lock.json:8"},
		{"pkg:npm/ansi-html@0.0.7", Transitive, "web/package-lock.json:10"},
		{"pkg:pypi/django@3.2.0", Direct, "ml/requirements.txt:2"},
		{"pkg:cargo/smallvec@0.6.9", Direct, "rust/Cargo.lock:19"},
		{"pkg:cargo/bytes@1.0.1", Transitive, "rust/Cargo.lock:14"},
		{"pkg:gem/google-protobuf@3.21.6", Direct, "ruby/Gemfile.lock:4"},
		{"pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.0", Direct, "java/pom.xml:11"},
		{"pkg:composer/drupal/core@8.4.0", Direct, "php/composer.lock:4"},
		// Debian packages by source name, in the release of etc/os-release.
		{"pkg:deb/debian/openssl@1.1.0l-1~deb9u5?arch=amd64&distro=debian-9", "", "rootfs/var/lib/dpkg/status:0"},
		{"pkg:cargo/diesel@1.4.5", "", "sbom/app.cdx.json:0"},
	} {
		if g, ok := got[w.PURL]; !ok {
			t.Errorf("no component %s", w.PURL)
		} else if g != w {
			t.Errorf("component %+v, want %+v", g, w)
		}
	}
	for p := range got {
		if strings.Contains(p, "ansi-html@0.0.1") || strings.Contains(p, "gitea@1.0.0") {
			t.Errorf("%s read from a skipped directory", p)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestReadAlpineLayer reads an exported filesystem tarball: the apk
// database, by origin (source) name, in the release of its os-release.
func TestReadAlpineLayer(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name, body string) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	add("etc/os-release", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.18.4\n")
	add("lib/apk/db/installed", "C:Q1abc=\nP:musl-utils\nV:1.2.4-r2\nA:x86_64\no:musl\n\nC:Q1def=\nP:zlib\nV:1.2.13-r1\nA:x86_64\no:zlib\n\n")
	add("../../etc/passwd", "root:x:0:0\n")
	tw.Close()
	p := filepath.Join(t.TempDir(), "layer.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := ReadPath(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var purls []string
	for _, c := range res.Components {
		purls = append(purls, c.PURL)
	}
	want := []string{"pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=3.18.4", "pkg:apk/alpine/zlib@1.2.13-r1?arch=x86_64&distro=3.18.4"}
	if diff := cmp.Diff(want, purls); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
	if len(res.Files) != 1 || res.Files[0].Kind != "apk-installed" {
		t.Errorf("files %+v", res.Files)
	}
}

// TestReadByContentAndForced: inputs without a telling name are detected
// by content; --input-type forces a kind; errors name the input.
func TestReadByContentAndForced(t *testing.T) {
	ctx := context.Background()
	gomod := []byte("module example.com/x\n\ngo 1.21\n\nrequire golang.org/x/net v0.17.0\n")
	res, err := ReadBytes(ctx, "stdin", gomod, Options{})
	if err != nil || len(res.Files) != 1 || res.Files[0].Kind != "go.mod" {
		t.Fatalf("go.mod by content: %+v, %v", res, err)
	}
	res, err = ReadBytes(ctx, "deps.txt", []byte("django==3.2.0\nrequests>=2.0\n"), Options{Kind: "requirements.txt"})
	if err != nil || len(res.Components) != 2 {
		t.Fatalf("forced requirements.txt: %+v, %v", res, err)
	}
	if _, err := ReadBytes(ctx, "x", gomod, Options{Kind: "nosuch"}); err == nil || !strings.Contains(err.Error(), `unknown input type "nosuch"`) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := ReadBytes(ctx, "Cargo.lock", []byte("[[package]]\nname = 1\n"), Options{}); err == nil || !strings.HasPrefix(err.Error(), "Cargo.lock: not a valid Cargo.lock") {
		t.Errorf("bad Cargo.lock: %v", err)
	}
	if _, err := ReadBytes(ctx, "package-lock.json", []byte("{"), Options{}); err == nil || !strings.HasPrefix(err.Error(), "package-lock.json: not a valid package-lock.json") {
		t.Errorf("bad package-lock.json: %v", err)
	}
}
