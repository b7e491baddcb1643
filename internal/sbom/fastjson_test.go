package sbom

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// TestProbeTopAsEncodingJSON: where the fast probe answers, it answers
// what json.Unmarshal into a map of raw messages answers (the format
// members' values, the other members' presence); everything else goes
// the slow way.
func TestProbeTopAsEncodingJSON(t *testing.T) {
	cases := map[string]bool{ // document -> the fast probe takes it
		`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"name":"a"}],"vulnerabilities":[]}`: true,
		` {"spdxVersion" : "SPDX-2.3", "packages": [1, {"x": [true, false]}]} `:                          true,
		`{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","\u0062omFormat":"x"}`:             true,
		`{}`: true,
		`{"bomFormat":"CycloneDX","bomFormat":"other"}`: false, // duplicate names
		`{"bomFormat":null}`:                            false,
		`{"vulnerabilities":null}`:                      false,
		"{\"name\":\"\xff\"}":                           false, // invalid UTF-8
		`{"a":1} {"b":2}`:                               false, // trailing data
		`{"a":1`:                                        false,
		`[1,2]`:                                         false,
		`"text"`:                                        false,
		``:                                              false,
	}
	for doc, fast := range cases {
		probe, ok := probeTop([]byte(doc))
		if ok != fast {
			t.Errorf("%q: fast probe %v, want %v", doc, ok, fast)
			continue
		}
		if !ok {
			continue
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal([]byte(doc), &want); err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if len(probe) != len(want) {
			t.Errorf("%q: members %v, want %v", doc, probe, want)
		}
		for k, v := range want {
			got, present := probe[k]
			if !present || got == nil || formatKeys[k] && string(got) != string(v) {
				t.Errorf("%q: member %s = %q (present %v), want %q", doc, k, got, present, v)
			}
		}
	}
}

// TestCycloneDXDecodeAsEncodingJSON: the fast decode of cyclonedx-go's
// types gives what encoding/json gives, on the test documents and the
// shared real SBOMs when present.
func TestCycloneDXDecodeAsEncodingJSON(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.cdx.json")
	real, _ := filepath.Glob("../../../shared/sboms/*.json")
	files = append(files, real...)
	files = append(files, "testdata/cdx-future.json")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var want, got cdx.BOM
		wantErr := json.Unmarshal(data, &want)
		gotErr := unmarshalV1(data, &got, func() { got = cdx.BOM{} })
		if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
			t.Errorf("%s: error %v, want %v", f, gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded differently from encoding/json", f)
		}
	}
	if len(real) == 0 {
		t.Log("no shared SBOMs next to the repository; test documents only")
	}
}
