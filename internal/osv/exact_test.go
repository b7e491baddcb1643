package osv

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
)

// TestExactLists: Parse with each list decoded at its length gives the
// records, and the errors, of the decoder's own slice path (decodeOptions
// alone), on a record and on many broken variants of it; its lists have
// no spare room.
func TestExactLists(t *testing.T) {
	rec := exactSeed
	variants := []string{rec}
	// Each list and each list element replaced by a value of every kind.
	for _, from := range []string{`["CVE-1","CVE-2"]`, `"CVE-2"`, `[]`, `[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N"}]`,
		`{"introduced":"0"}`, `[{"introduced":"0"},{"fixed":"1.2.3"}]`, `["1.0.0","1.1.0","1.2.0"]`, `"1.1.0"`,
		`[{"type":"WEB","url":"https://example.com"}]`, `["c"]`, `null`, `"SEMVER"`, `{"ecosystem":"npm","name":"a"}`} {
		for _, to := range []string{`null`, `1`, `"x"`, `true`, `{}`, `[]`, `[1]`, `["x",2]`, `[null]`, `[{}]`, `[[]]`, `{"a":[1]}`} {
			for i := 0; ; {
				j := strings.Index(rec[i:], from)
				if j < 0 {
					break
				}
				variants = append(variants, rec[:i+j]+to+rec[i+j+len(from):])
				i += j + 1
			}
		}
	}
	variants = append(variants, rec[:len(rec)/2], rec+"x", strings.Replace(rec, `"1.0.0"`, "\"1.\xff\"", 1),
		strings.Replace(rec, `"versions":[]`, `"versions":[],"versions":["9"]`, 1), strings.Replace(rec, `"aliases"`, `"ALIASES"`, 1))
	nerr := 0
	for _, in := range variants {
		var want, got Vulnerability
		werr := jsonv2.Unmarshal([]byte(in), &want, decodeOptions)
		gerr := jsonv2.Unmarshal([]byte(in), &got, parseOptions)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Errorf("%s:\nerror %v\nwant  %v", in, gerr, werr)
			continue
		}
		if werr != nil {
			nerr++
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\ngot  %#v\nwant %#v", in, got, want)
		}
	}
	v, err := Parse([]byte(rec))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string][2]int{"aliases": {len(v.Aliases), cap(v.Aliases)}, "affected": {len(v.Affected), cap(v.Affected)},
		"versions": {len(v.Affected[0].Versions), cap(v.Affected[0].Versions)}, "events": {len(v.Affected[0].Ranges[0].Events), cap(v.Affected[0].Ranges[0].Events)}} {
		if c[0] != c[1] {
			t.Errorf("%s: length %d, capacity %d", name, c[0], c[1])
		}
	}
	if len(variants) < 100 || nerr < 50 || nerr > len(variants)-20 {
		t.Fatalf("%d variants, %d of them errors: the variants no longer exercise both paths", len(variants), nerr)
	}
	t.Logf("%d variants, %d errors", len(variants), nerr)
}

// exactSeed is a record with every kind of list, empty and null ones too.
const exactSeed = `{"id":"GHSA-1","modified":"2024-01-02T03:04:05Z","aliases":["CVE-1","CVE-2"],"related":[],` +
	`"summary":"s","details":"d","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N"}],` +
	`"affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}],"database_specific":{"x":1}}],"versions":["1.0.0","1.1.0","1.2.0"],"ecosystem_specific":{"y":[1,2]}},` +
	`{"package":{"ecosystem":"PyPI","name":"b"},"versions":[],"ranges":null}],` +
	`"references":[{"type":"WEB","url":"https://example.com"}],"credits":[{"name":"n","contact":["c"]}],"database_specific":{"z":true}}`

// FuzzExactLists: on any input, Parse's options and decodeOptions alone
// decode the same record or fail with the same error.
func FuzzExactLists(f *testing.F) {
	f.Add([]byte(exactSeed))
	f.Add([]byte(`{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"versions":[1]}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var want, got Vulnerability
		werr := jsonv2.Unmarshal(in, &want, decodeOptions)
		gerr := jsonv2.Unmarshal(in, &got, parseOptions)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Fatalf("error %v, want %v", gerr, werr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("got %#v, want %#v", got, want)
		}
	})
}

// ParseLean decodes what Parse decodes but references and credits: where
// Parse accepts a document, ParseLean accepts it too and gives the same
// record with those two nil.
func FuzzParseLean(f *testing.F) {
	f.Add([]byte(exactSeed))
	f.Add([]byte(`{"id":"X","modified":"2024-01-01T00:00:00Z","references":[{"type":"WEB","url":"https://osv.dev"}],"credits":[{"name":"a","contact":["b"]}]}`))
	f.Add([]byte(`{"id":"X","modified":"2024-01-01T00:00:00Z","references":[{"type":1}]}`))
	f.Add([]byte(`{"id":"X","modified":"2024-01-01T00:00:00Z","credits":[}`))
	f.Fuzz(func(t *testing.T, in []byte) { checkLean(t, in) })
}

func checkLean(t *testing.T, in []byte) {
	t.Helper()
	full, ferr := Parse(in)
	lean, lerr := ParseLean(in)
	if ferr != nil {
		return // a lean parse may accept references or credits of the wrong shape
	}
	if lerr != nil {
		t.Fatalf("Parse accepted %q, ParseLean: %v", in, lerr)
	}
	if lean.References != nil || lean.Credits != nil {
		t.Fatalf("ParseLean kept references %v, credits %v", lean.References, lean.Credits)
	}
	full.References, full.Credits = nil, nil
	if !reflect.DeepEqual(full, lean) {
		t.Fatalf("ParseLean %#v, Parse without references and credits %#v", lean, full)
	}
}

// Every record of a few corpus ecosystems parses lean as in full, but for
// references and credits; a document whose references are not JSON fails
// both ways.
func TestParseLeanCorpus(t *testing.T) {
	n := 0
	eachCorpusRecord(t, []string{"PyPI", "Maven", "npm", "Go", "crates.io"}, 0, func(_, _ string, data []byte) {
		checkLean(t, data)
		n++
	})
	if n < 1000 {
		t.Fatalf("only %d records read", n)
	}
	bad := []byte(`{"id":"X","modified":"2024-01-01T00:00:00Z","references":[{"type":"WEB",}]}`)
	if _, err := ParseLean(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseLean of references that are not JSON: %v, want ErrMalformed", err)
	}
}
