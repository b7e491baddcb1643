package jsonenc

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

type named string

func (n named) MarshalJSON() ([]byte, error) { return json.Marshal("named:" + string(n)) }

type textKey int

func (k textKey) MarshalText() ([]byte, error) { return []byte("k" + string(rune('0'+k))), nil }

type inner struct {
	A int `json:"a"`
}

type doc struct {
	inner
	Name     string            `json:"name"`
	Empty    string            `json:"empty,omitempty"`
	Zero     int               `json:"zero,omitempty"`
	Nil      []string          `json:"nil"`
	NilOmit  []string          `json:"nil_omit,omitempty"`
	EmptyArr []int             `json:"empty_arr"`
	Map      map[string]any    `json:"map"`
	TextMap  map[textKey]int   `json:"text_map"`
	Ptr      *inner            `json:"ptr"`
	NilPtr   *inner            `json:"nil_ptr"`
	When     time.Time         `json:"when"`
	Dur      time.Duration     `json:"dur"`
	Raw      json.RawMessage   `json:"raw"`
	Named    named             `json:"named"`
	Floats   []float64         `json:"floats"`
	Bytes    []byte            `json:"bytes"`
	HTML     string            `json:"html"`
	Str      int               `json:"str,string"`
	Any      any               `json:"any"`
	Nested   map[string][]bool `json:"nested"`
	skipped  int
	Dash     int `json:"-"`
}

// TestSameBytesAsEncodingJSON: what the API and the scan report write is
// byte for byte what encoding/json's indenting Encoder wrote before.
func TestSameBytesAsEncodingJSON(t *testing.T) {
	values := []any{
		doc{inner: inner{A: 1}, Name: "x\u2028y\"z\\", EmptyArr: []int{}, Map: map[string]any{"b": 1.5, "a": []any{"s", nil, true}, "c": map[string]int{}},
			TextMap: map[textKey]int{2: 2, 1: 1}, Ptr: &inner{A: 7}, When: time.Date(2024, 2, 3, 4, 5, 6, 789, time.FixedZone("", 3600)),
			Dur: time.Second, Raw: json.RawMessage(`{"k": [1, 2]}`), Named: "n", Floats: []float64{0, 1e21, 1e-7, 123.456, -0.5, math.MaxFloat64},
			Bytes: []byte("bin\x00"), HTML: "<a href='x'>&</a>", Str: 42, Any: []int{1}, Nested: map[string][]bool{"z": {true}, "y": nil}, skipped: 3, Dash: 4},
		[]doc{{}, {}},
		map[string]any{},
		[]any{},
		nil,
		"plain",
		struct{}{},
	}
	for i, v := range values {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := WriteIndented(&got, v); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("value %d:\n got %s\nwant %s", i, got.String(), want.String())
		}
		want.Reset()
		if err := json.NewEncoder(&want).Encode(v); err != nil {
			t.Fatal(err)
		}
		got.Reset()
		if err := Write(&got, v); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("value %d, compact:\n got %s\nwant %s", i, got.String(), want.String())
		}
	}
}

type failing struct{}

func (failing) MarshalJSON() ([]byte, error) { return nil, errors.New("no") }

func TestErrorReturned(t *testing.T) {
	var b strings.Builder
	if err := WriteIndented(&b, map[string]any{"a": failing{}}); err == nil {
		t.Fatal("no error")
	}
}
