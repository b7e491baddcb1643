package sbom

import (
	"bytes"
	"encoding/json"
	"io"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// The JSON reading of SBOMs in one fast pass where that gives exactly what
// encoding/json gives: a large CycloneDX document (keycloak's 2.2 MB) was
// read three times (a probe of the top level into raw messages, which
// validated and copied the whole document, then cyclonedx-go's types
// through encoding/json's reflection), a third of a scan's time.
// Documents the fast pass does not take exactly as encoding/json would
// take the slow path, with its results and its error messages.

// probeTop reads the top-level object of data as json.Unmarshal into a
// map[string]json.RawMessage would, keeping the values of the members
// that tell the formats apart (formatKeys) and only the presence of the
// others (an empty, non-nil RawMessage). ok is false for anything it does
// not read exactly so: not an object, a syntax error, trailing data,
// invalid UTF-8, duplicate names, null members.
func probeTop(data []byte) (probe map[string]json.RawMessage, ok bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, false
	}
	probe = map[string]json.RawMessage{}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil || tok.Kind() != '"' {
			return nil, false
		}
		name := tok.String() // before the next call voids tok
		if dec.PeekKind() == 'n' {
			return nil, false
		}
		if formatKeys[name] {
			v, err := dec.ReadValue()
			if err != nil {
				return nil, false
			}
			probe[name] = json.RawMessage(bytes.Clone(v))
			continue
		}
		if err := dec.SkipValue(); err != nil {
			return nil, false
		}
		probe[name] = json.RawMessage{}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, false
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, false
	}
	return probe, true
}

// formatKeys are the top-level members whose values readJSON reads.
var formatKeys = map[string]bool{"bomFormat": true, "spdxVersion": true, "@context": true}

// unmarshalV1 is json.Unmarshal(data, v): through go-json-experiment/json
// with its encoding/json options (the same result, several times faster),
// or, when that fails, through encoding/json itself, whose error callers
// show.
func unmarshalV1(data []byte, v any, reset func()) error {
	if jsonv2.Unmarshal(data, v, jsonv1.DefaultOptionsV1()) == nil {
		return nil
	}
	reset()
	return json.Unmarshal(data, v)
}
