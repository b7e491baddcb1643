package archive

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Values travel between engines as Go values of one type per column kind:
// int64, float64, string, []byte, bool, or nil for NULL. Convert brings a
// driver's value (or a decoded one) to the type a column kind wants;
// EncodeValue and decodeValue map them to and from JSON.

var errKind = errors.New("value does not fit the column's type")

// Convert returns v as the Go type of kind k, or an error when it does
// not fit (e.g. text in an integer column).
func Convert(k Kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case Int:
		switch x := v.(type) {
		case int64:
			return x, nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), nil
			}
		case string:
			if n, err := strconv.ParseInt(x, 10, 64); err == nil {
				return n, nil
			}
		case []byte:
			if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return n, nil
			}
		}
	case Real:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				return f, nil
			}
		}
	case Text:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		case bool:
			return strconv.FormatBool(x), nil
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano), nil
		}
	case Blob:
		switch x := v.(type) {
		case []byte:
			if x == nil {
				return []byte{}, nil // an empty value, not NULL
			}
			return x, nil
		case string:
			return []byte(x), nil
		}
	case Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		}
	}
	return nil, fmt.Errorf("%w (%s wanted, got %T)", errKind, k, v)
}

// textObject carries text that is not valid UTF-8 (JSON strings must be).
type textObject struct {
	Base64 string `json:"base64"`
}

// EncodeValue turns a converted value into what encoding/json writes.
func EncodeValue(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
	case string:
		if !utf8.ValidString(x) {
			return textObject{Base64: base64.StdEncoding.EncodeToString([]byte(x))}
		}
	}
	return v // []byte is written as base64 by encoding/json
}

// decodeValue reads one JSON value written by EncodeValue for kind k.
func decodeValue(k Kind, raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, errors.New("missing value")
	}
	if string(raw) == "null" {
		return nil, nil
	}
	switch k {
	case Int:
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("want an integer, got %.40s", raw)
		}
		return n, nil
	case Real:
		var s string
		if raw[0] == '"' {
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
		} else {
			s = string(raw)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("want a number, got %.40s", raw)
		}
		return f, nil
	case Text:
		if raw[0] == '{' {
			var o textObject
			if err := json.Unmarshal(raw, &o); err != nil {
				return nil, err
			}
			b, err := base64.StdEncoding.DecodeString(o.Base64)
			if err != nil {
				return nil, fmt.Errorf("text in base64: %w", err)
			}
			return string(b), nil
		}
		if body, ok := plainString(raw); ok {
			return string(body), nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("want a string, got %.40s", raw)
		}
		return s, nil
	case Blob:
		if body, ok := plainString(raw); ok {
			b := make([]byte, base64.StdEncoding.DecodedLen(len(body)))
			n, err := base64.StdEncoding.Decode(b, body)
			if err != nil {
				return nil, fmt.Errorf("want base64 data: %v", err)
			}
			return b[:n], nil
		}
		var b []byte
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, fmt.Errorf("want base64 data, got %.40s", raw)
		}
		if b == nil {
			b = []byte{}
		}
		return b, nil
	case Bool:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, fmt.Errorf("want true or false, got %.40s", raw)
		}
		return b, nil
	}
	return nil, fmt.Errorf("unknown column kind %q", k)
}

// plainString returns the body of a JSON string that needs no unescaping
// (no backslash, no control character, valid UTF-8), as most values are;
// others go through encoding/json.
func plainString(raw json.RawMessage) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c == '\\' || c == '"' || c < 0x20 {
			return nil, false
		}
	}
	return body, utf8.Valid(body)
}
