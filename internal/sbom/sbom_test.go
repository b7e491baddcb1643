package sbom

import (
	"errors"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

func TestReadSharedSBOMs(t *testing.T) {
	sharedSBOMs := corpus.SBOMDir(t)
	// Counts were taken independently of this package: for JSON with jq,
	// counting .purl of metadata.component and of every component
	// reachable through .components (none of these files nests any, and
	// every component has a distinct purl); for XML by counting <purl>
	// and <component> elements with grep.
	want := map[string]struct {
		format Format
		count  int
		first  string // PURL of the metadata component
	}{
		"dropwizard-1.3.15__bom.json":                  {FormatCycloneDXJSON, 168, "pkg:maven/io.dropwizard/dropwizard-parent@1.3.15"},
		"dropwizard-1.3.15__bom.xml":                   {FormatCycloneDXXML, 168, "pkg:maven/io.dropwizard/dropwizard-parent@1.3.15"},
		"juice-shop__v11.1.2__bom.json":                {FormatCycloneDXJSON, 841, "pkg:npm/juice-shop@11.1.2"},
		"juice-shop__v11.1.2__bom.xml":                 {FormatCycloneDXXML, 841, "pkg:npm/juice-shop@11.1.2"},
		"keycloak-10.0.2__bom.json":                    {FormatCycloneDXJSON, 904, "pkg:maven/org.keycloak/keycloak-parent@10.0.2"},
		"keycloak-10.0.2__bom.xml":                     {FormatCycloneDXXML, 904, "pkg:maven/org.keycloak/keycloak-parent@10.0.2"},
		"laravel-7.12.0__bom.1.3.xml":                  {FormatCycloneDXXML, 63, "pkg:composer/cyclonedx/cyclonedx-php-composer-demo@dev-master"},
		"laravel-7.12.0__bom.1.4.json":                 {FormatCycloneDXJSON, 63, "pkg:composer/cyclonedx/cyclonedx-php-composer-demo@dev-master"},
		"proton-bridge__proton-bridge-v1.8.0.bom.json": {FormatCycloneDXJSON, 202, "pkg:golang/github.com/ProtonMail/proton-bridge@v1.8.0"},
		"proton-bridge__proton-bridge-v1.8.0.bom.xml":  {FormatCycloneDXXML, 202, "pkg:golang/github.com/ProtonMail/proton-bridge@v1.8.0"},
		"protonmail-webclient-v4-0912dff__bom.json":    {FormatCycloneDXJSON, 884, "pkg:npm/protonmail-web@4.0.0-beta.20"},
	}
	files, err := filepath.Glob(filepath.Join(sharedSBOMs, "*"))
	if err != nil {
		t.Fatal(err)
	}
	purlSets := map[string][]string{} // project -> sorted PURLs, for JSON/XML comparison
	read := 0
	for _, path := range files {
		base := filepath.Base(path)
		if base == "SOURCES.md" {
			continue
		}
		w, ok := want[base]
		if !ok {
			t.Errorf("%s: no expected count recorded; add one", base)
			continue
		}
		read++
		comps, format, err := ReadFile(path)
		if err != nil {
			t.Errorf("ReadFile(%s): %v", base, err)
			continue
		}
		if format != w.format {
			t.Errorf("%s: format %q, want %q", base, format, w.format)
		}
		if len(comps) != w.count {
			t.Errorf("%s: %d components, want %d", base, len(comps), w.count)
		}
		if len(comps) > 0 && comps[0].PURL != w.first {
			t.Errorf("%s: first component PURL %q, want the metadata component %q", base, comps[0].PURL, w.first)
		}
		var purls []string
		for _, c := range comps {
			if c.PURL == "" || c.Name == "" || c.BOMRef == "" && w.format == FormatCycloneDXJSON {
				t.Errorf("%s: incomplete component %+v", base, c)
			}
			purls = append(purls, c.PURL)
		}
		slices.Sort(purls)
		project := strings.TrimSuffix(strings.TrimSuffix(base, filepath.Ext(base)), ".1.3")
		project = strings.TrimSuffix(project, ".1.4")
		if prev, ok := purlSets[project]; ok {
			if diff := cmp.Diff(prev, purls); diff != "" {
				t.Errorf("%s: PURLs differ between JSON and XML (-other +this):\n%s", project, diff)
			}
		} else {
			purlSets[project] = purls
		}
	}
	if read != len(want) {
		t.Errorf("read %d SBOMs, want %d", read, len(want))
	}
	if len(purlSets) != 6 {
		t.Errorf("got %d projects, want 6: %v", len(purlSets), slices.Sorted(maps.Keys(purlSets)))
	}
}

// nestedWant is what both nested.cdx.json and nested.cdx.xml hold: the
// metadata component and its child, a component nested two deep, a
// grouped component, a duplicate PURL (dropped) and a component without
// a PURL (kept).
var nestedWant = []Component{
	{Name: "shop", Version: "2.0.0", PURL: "pkg:npm/shop@2.0.0", BOMRef: "app"},
	{Name: "shop-config", Version: "2.0.0", PURL: "pkg:npm/shop-config@2.0.0", BOMRef: "cfg", Path: []string{"shop"}},
	{Name: "express", Version: "4.17.1", PURL: "pkg:npm/express@4.17.1", BOMRef: "express"},
	{Name: "body-parser", Version: "1.19.0", PURL: "pkg:npm/body-parser@1.19.0", BOMRef: "body-parser", Path: []string{"express"}},
	{Name: "qs", Version: "6.7.0", PURL: "pkg:npm/qs@6.7.0", BOMRef: "qs", Path: []string{"express", "body-parser"}},
	{Name: "@babel/core", Version: "7.22.0", PURL: "pkg:npm/%40babel/core@7.22.0", BOMRef: "babel"},
	{Name: "vendor/jquery.min.js", Version: "3.5.1", BOMRef: "vendored"},
}

func TestReadFixtures(t *testing.T) {
	for _, tc := range []struct {
		file   string
		format Format
		want   []Component
	}{
		{"nested.cdx.json", FormatCycloneDXJSON, nestedWant},
		{"nested.cdx.xml", FormatCycloneDXXML, nestedWant},
		{"app.spdx.json", FormatSPDXJSON, []Component{
			{Name: "app", Version: "1.0.0", PURL: "pkg:golang/example.com/app@v1.0.0", BOMRef: "SPDXRef-app"},
			{Name: "golang.org/x/net", Version: "v0.17.0", PURL: "pkg:golang/golang.org/x/net@v0.17.0", BOMRef: "SPDXRef-net"},
			{Name: "requests", Version: "2.31.0", PURL: "pkg:pypi/requests@2.31.0", BOMRef: "SPDXRef-requests"},
			{Name: "libfoo", Version: "0.1", BOMRef: "SPDXRef-libfoo"},
		}},
		{"app-2.2.spdx.json", FormatSPDXJSON, []Component{
			{Name: "lodash", Version: "4.17.20", PURL: "pkg:npm/lodash@4.17.20", BOMRef: "SPDXRef-Package-lodash"},
			{Name: "log4j-core", Version: "2.14.1", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", BOMRef: "SPDXRef-Package-log4j"},
		}},
		{"app.spdx3.json", FormatSPDX3JSON, []Component{
			{Name: "lodash", Version: "4.17.20", PURL: "pkg:npm/lodash@4.17.20", BOMRef: "https://example.com/Package/lodash"},
			{Name: "django", Version: "3.2.0", PURL: "pkg:pypi/django@3.2.0", BOMRef: "https://example.com/Package/django"},
		}},
		{"list.txt", FormatPURLList, []Component{
			{Name: "lodash", Version: "4.17.20", PURL: "pkg:npm/lodash@4.17.20", Line: 3},
			{Name: "requests", Version: "2.31.0", PURL: "pkg:pypi/requests@2.31.0", Line: 4},
			{Name: "org.apache.logging.log4j/log4j-core", Version: "2.14.1", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar", Line: 8},
			{Name: "debian/openssl", Version: "3.0.11-1~deb12u2", PURL: "pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12", Line: 9},
			{Name: "openssl", Version: "3.0.0", PURL: "pkg:generic/openssl@3.0.0", Line: 10},
		}},
	} {
		got, format, err := ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Errorf("ReadFile(%s): %v", tc.file, err)
			continue
		}
		if format != tc.format {
			t.Errorf("%s: format %q, want %q", tc.file, format, tc.format)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: components mismatch (-want +got):\n%s", tc.file, diff)
		}
	}
}

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct {
		file, want string
	}{
		{"empty.json", "empty.json: empty file"},
		{"truncated.json", "truncated.json: not valid JSON: unexpected end of JSON input"},
		{"pom.xml", "pom.xml: not a CycloneDX XML document: expected element type <bom> but have <project>"},
		{"other-bom.xml", `other-bom.xml: not a CycloneDX XML document: root element <bom> has namespace "urn:example:not-cyclonedx"`},
		{"package.json", "package.json: not a CycloneDX or SPDX document: the JSON object has neither bomFormat nor spdxVersion"},
		{"spdx-future.json", "spdx-future.json: not a valid SPDX JSON document: unsupported SDPX version: SPDX-9.9"},
	} {
		_, _, err := ReadFile(filepath.Join("testdata", tc.file))
		if err == nil {
			t.Errorf("ReadFile(%s) succeeded, want error %q", tc.file, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("ReadFile(%s) error:\n got  %s\n want %s", tc.file, err, tc.want)
		}
	}
}

func TestReadSniffing(t *testing.T) {
	for _, tc := range []struct {
		name, content, wantErr string
		wantFormat             Format
	}{
		// Content decides, whatever the name says.
		{name: "bom.txt", content: `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}`, wantFormat: FormatCycloneDXJSON},
		{name: "purls.lst", content: "\xef\xbb\xbf\n  pkg:npm/a@1\n", wantFormat: FormatPURLList},
		{name: "list", content: "# only comments\n\n", wantFormat: FormatPURLList},
		// The name says what the content failed to be.
		{name: "sbom.json", content: "bomFormat: CycloneDX\n", wantErr: `sbom.json: not a JSON document: starts with "bomFormat: CycloneDX"`},
		{name: "sbom.xml", content: "hello\n", wantErr: `sbom.xml: not an XML document: starts with "hello"`},
		{name: "sbom", content: "hello\n", wantErr: `sbom: not a CycloneDX or SPDX document or a PURL list: line 1 is "hello"`},
		{name: "prog", content: "\x7fELF\x02\x01\x01\x00\x00pkg:npm/a@1\n", wantErr: "prog: not a CycloneDX or SPDX document or a PURL list: a binary file"},
		{name: "a.json", content: `[{"purl":"pkg:npm/a@1"}]`, wantErr: "a.json: not a CycloneDX or SPDX document: the JSON is not an object"},
		{name: "a.json", content: `{"bomFormat":"SPDX"}`, wantErr: `a.json: not a CycloneDX or SPDX document: bomFormat is "\"SPDX\"", want "CycloneDX"`},
		{name: "", content: " \n\t", wantErr: "input: empty file"},
		{name: "dir/nested/juice.json", content: `{"bomFormat": "CycloneDX", "specVersion": "1.4", "components": {}}`, wantErr: "juice.json: not a valid CycloneDX JSON document: json: cannot unmarshal"},
	} {
		comps, format, err := Read(strings.NewReader(tc.content), tc.name)
		if tc.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("Read(%q, %q) error = %v, want prefix %q", tc.content, tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Read(%q, %q): %v", tc.content, tc.name, err)
			continue
		}
		if format != tc.wantFormat {
			t.Errorf("Read(%q, %q) format %q, want %q (components %v)", tc.content, tc.name, format, tc.wantFormat, comps)
		}
	}
}

func TestReadSizeLimit(t *testing.T) {
	defer func(old int64) { maxSize = old }(maxSize)
	maxSize = 1 << 20
	big := strings.Repeat("pkg:npm/a@1\n", (1<<20)/12+1)
	_, _, err := Read(strings.NewReader(big), "huge.txt")
	if err == nil || err.Error() != "huge.txt: larger than the 1 MiB limit for SBOMs" {
		t.Errorf("Read of %d bytes with a 1 MiB limit: err = %v", len(big), err)
	}
	// Exactly at the limit is fine.
	atLimit := big[:maxSize]
	atLimit = atLimit[:strings.LastIndexByte(atLimit, '\n')+1]
	if _, _, err := Read(strings.NewReader(atLimit), "ok.txt"); err != nil {
		t.Errorf("Read of %d bytes with a 1 MiB limit: %v", len(atLimit), err)
	}
}

func TestReadDepthLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[`)
	for i := range maxDepth + 2 {
		b.WriteString(`{"type":"library","name":"c` + strings.Repeat("x", i%3) + `","components":[`)
	}
	b.WriteString(strings.Repeat("]}", maxDepth+2))
	b.WriteString("]}")
	_, _, err := Read(strings.NewReader(b.String()), "deep.json")
	if err == nil || !strings.Contains(err.Error(), "deep.json: components nested more than 64 deep") {
		t.Errorf("Read of deeply nested components: err = %v", err)
	}
}

func TestReadFileMissing(t *testing.T) {
	_, _, err := ReadFile(filepath.Join("testdata", "no-such-file.json"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no-such-file.json") {
		t.Errorf("ReadFile of a missing file: err = %v, want a not-exist error naming it", err)
	}
}

func TestMetadataComponentWithoutPURLIsNotScanned(t *testing.T) {
	doc := `{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"component":{"type":"application","name":"my-app","components":[{"type":"library","name":"inner","version":"1.0","purl":"pkg:npm/inner@1.0"}]}},
"components":[{"type":"library","name":"lodash","version":"4.17.20","purl":"pkg:npm/lodash@4.17.20"}]}`
	comps, _, err := Read(strings.NewReader(doc), "app.cdx.json")
	if err != nil {
		t.Fatal(err)
	}
	var purls []string
	for _, c := range comps {
		purls = append(purls, c.PURL)
	}
	if want := []string{"pkg:npm/inner@1.0", "pkg:npm/lodash@4.17.20"}; !slices.Equal(purls, want) {
		t.Fatalf("purls = %v, want %v", purls, want)
	}
	if comps[0].Path[0] != "my-app" {
		t.Errorf("nested component path = %v", comps[0].Path)
	}
}

// TestReadHardening covers inputs found in other projects' test suites
// that crashed or were rejected whole.
func TestReadHardening(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		format        Format
		want          []Component
		warning       string // substring of the one warning expected
		wantErr       string
	}{
		// tools-golang's own fixture: the parser dereferences the null
		// package; the panic must become an error naming the file.
		{name: "null.spdx.json", content: `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","packages":[null]}`,
			wantErr: "null.spdx.json: not a valid SPDX JSON document: the SPDX JSON parser failed on this input"},
		// A later CycloneDX version: components read, what was skipped named.
		{name: "cdx-future.json", content: `{"bomFormat":"CycloneDX","specVersion":"9.9","declarations":{"attestations":[]},"components":[{"type":"library","name":"lodash","version":"4.17.20","purl":"pkg:npm/lodash@4.17.20","bom-ref":"l"}]}`,
			format: FormatCycloneDXJSON, want: []Component{{Name: "lodash", Version: "4.17.20", PURL: "pkg:npm/lodash@4.17.20", BOMRef: "l"}},
			warning: "ignored top-level fields: declarations"},
		{name: "cdx-future.xml", content: `<bom xmlns="http://cyclonedx.org/schema/bom/9.9" version="2.0"><components><component type="library" bom-ref="q"><name>qs</name><version>6.7.0</version><purl>pkg:npm/qs@6.7.0</purl><newThing/></component></components></bom>`,
			format: FormatCycloneDXXML, want: []Component{{Name: "qs", Version: "6.7.0", PURL: "pkg:npm/qs@6.7.0", BOMRef: "q"}},
			warning: "CycloneDX 9.9: cyclonedx-go could not read the document"},
		{name: "vex.cdx.json", content: `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"qs","purl":"pkg:npm/qs@6.7.0"}],"vulnerabilities":[{"id":"CVE-2022-24999"}]}`,
			format: FormatCycloneDXJSON, want: []Component{{Name: "qs", PURL: "pkg:npm/qs@6.7.0"}}, warning: "vulnerabilities embedded in the SBOM were ignored"},
		// One bad line is an error on that line's component only.
		{name: "purls.txt", content: "pkg:npm/lodash@4.17.20\npkg:npm/@1\nlodash 4.17.20\npkg:pypi/django@3.2.0\n", format: FormatPURLList, want: []Component{
			{Name: "lodash", Version: "4.17.20", PURL: "pkg:npm/lodash@4.17.20", Line: 1},
			{Name: "pkg:npm/@1", Line: 2, Err: `line 2: invalid PURL "pkg:npm/@1": purl is missing name`},
			{Name: "lodash 4.17.20", Line: 3, Err: `line 3: not a PURL: "lodash 4.17.20"`},
			{Name: "django", Version: "3.2.0", PURL: "pkg:pypi/django@3.2.0", Line: 4},
		}},
		// A TOML lockfile is not called invalid JSON.
		{name: "lock", content: "[[package]]\nname = \"serde\"\nversion = \"1.0.0\"\n", wantErr: "lock: not an SBOM: a TOML file"},
		// SPDX tag-value and YAML.
		{name: "app.spdx", content: "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\nDocumentName: app\nDocumentNamespace: https://example.com/app\nCreator: Tool: test\nCreated: 2024-01-01T00:00:00Z\n\nPackageName: lodash\nSPDXID: SPDXRef-lodash\nPackageVersion: 4.17.20\nPackageDownloadLocation: NOASSERTION\nExternalRef: PACKAGE-MANAGER purl pkg:npm/lodash@4.17.20\n",
			format: FormatSPDXTagValue, want: []Component{{Name: "lodash", Version: "4.17.20", PURL: "pkg:npm/lodash@4.17.20", BOMRef: "SPDXRef-lodash"}}},
		{name: "app.spdx.yaml", content: "spdxVersion: SPDX-2.3\ndataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\nname: app\ndocumentNamespace: https://example.com/app\ncreationInfo:\n  created: \"2024-01-01T00:00:00Z\"\n  creators: [\"Tool: test\"]\npackages:\n  - name: django\n    SPDXID: SPDXRef-django\n    versionInfo: 3.2.0\n    downloadLocation: NOASSERTION\n    externalRefs:\n      - referenceCategory: PACKAGE-MANAGER\n        referenceType: purl\n        referenceLocator: pkg:pypi/django@3.2.0\n",
			format: FormatSPDXYAML, want: []Component{{Name: "django", Version: "3.2.0", PURL: "pkg:pypi/django@3.2.0", BOMRef: "SPDXRef-django"}}},
	} {
		d, err := ReadDocument(strings.NewReader(tc.content), tc.name)
		if tc.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want prefix %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if d.Format != tc.format {
			t.Errorf("%s: format %q, want %q", tc.name, d.Format, tc.format)
		}
		if diff := cmp.Diff(tc.want, d.Components); diff != "" {
			t.Errorf("%s: components (-want +got):\n%s", tc.name, diff)
		}
		switch {
		case tc.warning == "" && len(d.Warnings) > 0:
			t.Errorf("%s: unexpected warnings %q", tc.name, d.Warnings)
		case tc.warning != "" && (len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0], tc.warning)):
			t.Errorf("%s: warnings %q, want one containing %q", tc.name, d.Warnings, tc.warning)
		}
	}
}
