package osv

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// generalHeader decodes d's header with the general decoder, as
// ParseHeader does when scanHeader gives up.
func generalHeader(d []byte) (Header, error) {
	var h Header
	err := jsonv2.Unmarshal(d, &h, decodeOptions)
	return h, err
}

// checkScan fails when scanHeader takes d but the general decoder would
// not, or decodes it differently.
func checkScan(t *testing.T, d []byte) (taken bool) {
	t.Helper()
	got, ok := scanHeader(d)
	if !ok {
		return false
	}
	want, err := generalHeader(d)
	if err != nil {
		t.Fatalf("scanHeader took %q, which the general decoder rejects: %v", d, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("scanHeader(%q) =\n%#v\nthe general decoder:\n%#v", d, got, want)
	}
	return true
}

// TestScanHeaderCorpus: every record of the shared corpus takes the fast
// path, with the general decoder's result.
func TestScanHeaderCorpus(t *testing.T) {
	dir := corpus.Dir(t)
	ecos, err := os.ReadFile(filepath.Join(dir, "ecosystems.txt"))
	if err != nil {
		t.Fatal(err)
	}
	records, fallbacks := 0, 0
	eachCorpusRecord(t, strings.Fields(string(ecos)), 0, func(eco, name string, d []byte) {
		records++
		if !checkScan(t, d) {
			fallbacks++
			t.Errorf("%s/%s: scanHeader gave up", eco, name)
		}
	})
	t.Logf("%d records, %d decoded by the general decoder", records, fallbacks)
}

// headerSeeds are documents at the edges of what scanHeader takes; the
// fuzz target starts from them too.
var headerSeeds = []struct {
	doc  string
	take bool // scanHeader takes it
}{
	{`{"id":"GHSA-1","modified":"2024-01-01T00:00:00Z","aliases":["CVE-1","CVE-1"],"affected":[{"package":{"ecosystem":"Go","name":"x","purl":"pkg:golang/x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`, true},
	{" \n{ \"id\" : \"A\" , \"details\" : \"é \\\" \\u00e9 \\n\", \"n\": [-0.5e+3, 0, 12, true, false, null, {}, []], \"affected\": [] , \"aliases\": [] }\r\n", true},
	{`{"affected":[{"ranges":[]},{"package":{}},{}]}`, true},
	{`{"database_specific":{"id":1,"ID":2,"id":3,"\u0069d":4}}`, true}, // no fields at that level
	{`{"ID":"A"}`, false},
	{`{"with_drawn":"2024-01-01T00:00:00Z"}`, false},
	{`{"Aliases":["a"]}`, false},
	{`{"affected":[{"Package":{}}]}`, false},
	{`{"affected":[{"package":{"NAME":"x"}}]}`, false},
	{`{"affected":[{"ranges":[{"TYPE":"GIT"}]}]}`, false},
	{`{"affected":[{"package":{"ecosystem":"npm"}},{"package":{"ecosystem":"npm"}},{"package":{"ecosystem":"Go"}}]}`, true},
	{`{"affected":[{"ranges":[{"type":"GIT"},{"type":"git"},{"type":"SEMVER"}]}]}`, true},
	{`{"affected":[{"package":{"ecosystem":1}}]}`, false},
	{`{"affected":[{"package":{"ecosystem":"n\u0070m"}}]}`, false},
	{`{"affected":[{"ranges":[{"type":"GI`, false},
	{`{"affected":[{"ranges":[{"type":"\u0047IT"}]}]}`, false},
	{`{"\u0069d":"A"}`, false},
	{`{"id":"A","id":"B"}`, false},
	{`{"id":"\u0041"}`, false},
	{`{"id":null}`, false},
	{"{\"id\":\"\xff\"}", false},     // invalid UTF-8 in a string taken
	{"{\"details\":\"\xff\"}", true}, // and in one skipped
	{`{"x":"\ud800"}`, false},
	{`{"modified":""}`, false},
	{`{"modified":"yesterday"}`, false},
	{`{"id":"A"} x`, false},
	{`{"id":"A",}`, false},
	{`{"n":01}`, false},
	{`{"n":1.}`, false},
	{`{"n":tru}`, false},
	{"{\"s\":\"a\tb\"}", false},
	{`[{"id":"A"}]`, false},
	{``, false},
	{`{"x":` + strings.Repeat("[", maxScanDepth) + strings.Repeat("]", maxScanDepth) + `}`, false},
}

func TestScanHeaderEdges(t *testing.T) {
	for _, c := range headerSeeds {
		d, take := c.doc, c.take
		if got := checkScan(t, []byte(d)); got != take {
			t.Errorf("scanHeader(%q) took it: %v, want %v", d, got, take)
		}
		// ParseHeader answers as the general decoder does either way.
		h, err := ParseHeader([]byte(d))
		want, werr := generalHeader([]byte(d))
		if werr != nil {
			if err == nil {
				t.Errorf("ParseHeader(%q) accepted what the general decoder rejects: %v", d, werr)
			}
			continue
		}
		if err == nil && !reflect.DeepEqual(*h, want) {
			t.Errorf("ParseHeader(%q) = %#v, want %#v", d, *h, want)
		}
	}
}

// FuzzScanHeader: whatever scanHeader takes, the general decoder takes
// too and decodes alike.
func FuzzScanHeader(f *testing.F) {
	for _, c := range headerSeeds {
		f.Add([]byte(c.doc))
	}
	f.Fuzz(func(t *testing.T, d []byte) { checkScan(t, d) })
}
