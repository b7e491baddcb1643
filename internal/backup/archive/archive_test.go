package archive

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Every kind of value survives writing and reading, including NULLs, NaN,
// infinities, empty and binary blobs, and text that is not UTF-8.
func TestValuesRoundTrip(t *testing.T) {
	data := sample(t)
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), "sample")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(r)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{
		{"CVE-1", int64(1), "line\n\"two\" ü"}, {"CVE-2", int64(0), ""}, {"CVE-3", nil, "\xff\xfe invalid"},
		{"GHSA-1", []byte{0, 1, 2, 255}, 7.5, true}, {"GHSA-2", []byte{}, math.Inf(1), false}, {"GHSA-3", nil, math.NaN(), nil},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("rows differ (-want +got):\n%s", diff)
	}
	if r.Manifest.Tables[0].Rows != 3 || r.Manifest.Tables[2].Rows != 0 || len(r.Manifest.Tables[0].SHA256) != 64 {
		t.Errorf("manifest: %+v", r.Manifest.Tables)
	}
}

func TestConvert(t *testing.T) {
	for _, tc := range []struct {
		k    Kind
		in   any
		want any
		ok   bool
	}{
		{Int, true, int64(1), true},
		{Int, "42", int64(42), true},
		{Int, 2.0, int64(2), true},
		{Int, 2.5, nil, false},
		{Int, "x", nil, false},
		{Bool, int64(0), false, true},
		{Text, int64(-3), "-3", true},
		{Text, []byte("b"), "b", true},
		{Blob, "s", []byte("s"), true},
		{Blob, []byte(nil), []byte{}, true},
		{Real, int64(3), 3.0, true},
		{Real, []byte{1}, nil, false},
		{Text, nil, nil, true},
	} {
		got, err := Convert(tc.k, tc.in)
		if (err == nil) != tc.ok || !cmp.Equal(got, tc.want) {
			t.Errorf("Convert(%s, %#v) = %#v, %v; want %#v ok=%v", tc.k, tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// The unescaped fast path and encoding/json agree on every string.
func TestDecodeStrings(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "line\nbreak", "tab\t", "\u2028", "\x7f", "é ü 🚨", "<>&", "/slash/", "\xff"} {
		b, _ := json.Marshal(EncodeValue(s))
		got, err := decodeValue(Text, b)
		if err != nil || got != s {
			t.Errorf("text %q: got %q, %v (encoded %s)", s, got, err, b)
		}
		bb, _ := json.Marshal([]byte(s))
		gotb, err := decodeValue(Blob, bb)
		if err != nil || !bytes.Equal(gotb.([]byte), []byte(s)) {
			t.Errorf("blob %q: got %q, %v", s, gotb, err)
		}
	}
	if _, err := decodeValue(Blob, json.RawMessage(`"not base64!"`)); err == nil {
		t.Error("bad base64 accepted")
	}
}
