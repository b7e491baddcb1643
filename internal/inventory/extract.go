package inventory

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	apkmeta "github.com/google/osv-scalibr/extractor/filesystem/os/apk/metadata"
	dpkgmeta "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg/metadata"
	"github.com/package-url/packageurl-go"

	"github.com/vulngate/vulngate/internal/sbom"

	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
)

// extract runs k's extractor on one file's content. The file is shown to
// the extractor under its canonical name in an in-memory filesystem, with
// osRelease (the content of etc/os-release, may be nil) beside it for OS
// databases, so nothing else on disk is read and a file detected by content
// reads the same as one named for its kind. A panic in the extractor is an
// error. siblings, when not nil, reads files next to the input (for direct
// dependencies declared in a manifest).
func extract(ctx context.Context, k *kind, name string, data []byte, osRelease []byte, siblings func(string) []byte) ([]Component, []string, error) {
	ex, err := k.new(&cpb.PluginConfig{})
	if err != nil {
		return nil, nil, fmt.Errorf("%s extractor: %v", k.name, err)
	}
	mfs := fstest.MapFS{k.file: &fstest.MapFile{Data: data, Mode: 0o644, ModTime: time.Unix(0, 0)}}
	var warnings []string
	if k.os {
		if osRelease != nil {
			mfs["etc/os-release"] = &fstest.MapFile{Data: osRelease, Mode: 0o644}
		} else {
			warnings = append(warnings, "no etc/os-release beside this database: the distribution release is unknown, so advisories of every release apply")
		}
	}
	info, err := fs.Stat(mfs, k.file)
	if err != nil {
		return nil, nil, err
	}
	var pkgs []*extractor.Package
	err = sbom.Guard("the "+string(k.name)+" extractor", func() error {
		inv, err := ex.Extract(ctx, &filesystem.ScanInput{FS: mapFS{mfs}, Path: k.file, Root: "/", Info: info, Reader: bytes.NewReader(data)})
		pkgs = inv.Packages
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("not a valid %s: %v", k.name, err)
	}
	rel := relationships(k, data, siblings)
	var out []Component
	for _, p := range pkgs {
		if p == nil {
			continue
		}
		c := Component{Name: p.Name, Version: p.Version, File: name}
		if d := p.Location.Descriptor; d != nil && d.File != nil {
			c.Line = d.File.LineNumber
		}
		c.PURL = purlOf(p)
		if c.PURL == "" {
			c.Err = fmt.Sprintf("%s %q: no package URL for this kind of package", k.name, p.Name)
		}
		if k.manifest {
			c.Relationship = Direct
		}
		if rel != nil {
			c.Relationship = rel(p.Name, p.Version)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Component) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), strings.Compare(a.Name, b.Name), strings.Compare(a.Version, b.Version), strings.Compare(a.PURL, b.PURL))
	})
	return out, warnings, nil
}

// mapFS adds ReadDir and Stat (which fstest.MapFS has) under the names
// osv-scalibr's filesystem interface wants.
type mapFS struct{ fstest.MapFS }

// purlOf returns the package URL to match p by. Debian and Alpine packages
// are named by their source package and version (OSV's Debian and Alpine
// records name source packages), with the release as the distro
// qualifier; the binary package stays the component's name.
func purlOf(p *extractor.Package) string {
	switch m := p.Metadata.(type) {
	case *dpkgmeta.Metadata:
		name, version := m.PackageName, m.PackageVersion
		if m.SourceName != "" {
			name = m.SourceName
			if m.SourceVersion != "" {
				version = m.SourceVersion
			}
		}
		ns := strings.ToLower(m.OSID)
		if ns == "" {
			ns = "debian"
		}
		var q packageurl.Qualifiers
		if m.Architecture != "" {
			q = append(q, packageurl.Qualifier{Key: "arch", Value: m.Architecture})
		}
		if m.OSVersionID != "" {
			q = append(q, packageurl.Qualifier{Key: "distro", Value: ns + "-" + m.OSVersionID})
		}
		return packageurl.NewPackageURL("deb", ns, name, version, q, "").ToString()
	case *apkmeta.Metadata:
		name := m.PackageName
		if m.OriginName != "" {
			name = m.OriginName
		}
		var q packageurl.Qualifiers
		if m.Architecture != "" {
			q = append(q, packageurl.Qualifier{Key: "arch", Value: m.Architecture})
		}
		if m.OSVersionID != "" {
			q = append(q, packageurl.Qualifier{Key: "distro", Value: m.OSVersionID})
		}
		return packageurl.NewPackageURL("apk", "alpine", name, p.Version, q, "").ToString()
	}
	u := p.PURL()
	if u == nil {
		return ""
	}
	if u.Type == "swift" && u.Namespace == "" {
		// osv-scalibr puts the whole repository path in the name; the
		// PURL spec splits it into namespace and name.
		if i := strings.LastIndexByte(u.Name, '/'); i > 0 {
			u.Namespace, u.Name = u.Name[:i], u.Name[i+1:]
		}
	}
	s := u.String()
	if u.Type == "npm" && strings.Contains(s, "?") {
		// osv-scalibr's own note on where the package came from
		// ("source=OTHER") is not part of the package's identity.
		if pu, err := packageurl.FromString(s); err == nil {
			pu.Qualifiers = slices.DeleteFunc(pu.Qualifiers, func(q packageurl.Qualifier) bool { return q.Key == "source" })
			s = pu.ToString()
		}
	}
	return s
}
