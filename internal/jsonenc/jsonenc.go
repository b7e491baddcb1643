// Package jsonenc writes JSON documents the way encoding/json's Encoder
// writes them, byte for byte, in one pass that streams to the writer
// (github.com/go-json-experiment/json with its v1 options): indented with
// SetIndent("", "  ") (scan reports) or compact (API responses).
// encoding/json marshals the whole value and then copies it again to
// indent it: for large scan reports and busy API lists that second pass
// was the largest part of the encoding's CPU time and memory.
//
// It leaves out decoding and any other layout; on an error part of the
// document may already have been written (encoding/json writes nothing).
package jsonenc

import (
	"io"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// WriteIndented writes v with two-space indentation and a final newline.
func WriteIndented(w io.Writer, v any) error {
	if err := jsonv2.MarshalWrite(w, v, jsonv1.DefaultOptionsV1(), jsontext.Multiline(true), jsontext.WithIndent("  ")); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// Write writes v compact (encoding/json's Encoder without indentation)
// and a final newline. A busy API list spent 6% of its CPU indenting, and
// wrote a third more bytes.
func Write(w io.Writer, v any) error {
	if err := jsonv2.MarshalWrite(w, v, jsonv1.DefaultOptionsV1()); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
