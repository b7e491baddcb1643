package archive

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"
	"time"
)

// sample writes a small backup with every kind of value.
func sample(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	m := &Manifest{Format: Format, Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Engine: "sqlite", SchemaVersion: 7, Migrations: []int64{1, 2, 7}}
	tables := []struct {
		e    TableEntry
		rows [][]any
	}{
		{TableEntry{Name: "assessment", Class: User, Columns: []ColumnEntry{{"vuln_id", Text}, {"auto", Int}, {"comment", Text}}},
			[][]any{{"CVE-1", int64(1), "line\n\"two\" ü"}, {"CVE-2", int64(0), ""}, {"CVE-3", nil, "\xff\xfe invalid"}}},
		{TableEntry{Name: "advisory", Class: Mirror, Columns: []ColumnEntry{{"id", Text}, {"data", Blob}, {"score", Real}, {"flag", Bool}}},
			[][]any{{"GHSA-1", []byte{0, 1, 2, 255}, 7.5, true}, {"GHSA-2", []byte{}, math.Inf(1), false}, {"GHSA-3", nil, math.NaN(), nil}}},
		{TableEntry{Name: "empty", Class: User, Columns: []ColumnEntry{{"x", Int}}}, nil},
	}
	for _, tb := range tables {
		e := tb.e
		tw, err := w.Table(&e)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range tb.rows {
			if err := tw.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		m.Tables = append(m.Tables, e)
	}
	if err := w.Close(m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAll reads every row of every table.
func readAll(r *Reader) ([][]any, error) {
	var out [][]any
	for i := range r.Manifest.Tables {
		rr, err := r.Rows(&r.Manifest.Tables[i])
		if err != nil {
			return out, err
		}
		for {
			vals, err := rr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rr.Close()
				return out, err
			}
			out = append(out, append([]any(nil), vals...))
		}
		rr.Close()
	}
	return out, nil
}

// FuzzReader feeds arbitrary files to the backup reader: it must return
// rows or an error, never panic or loop, whatever the archive, manifest or
// rows hold; rows it returns have one value per column and it reaches the
// end only with the manifest's row count.
func FuzzReader(f *testing.F) {
	good := sample(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:len(good)-1])
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), "fuzz")
		if err != nil {
			return
		}
		for i := range r.Manifest.Tables {
			e := &r.Manifest.Tables[i]
			rr, err := r.Rows(e)
			if err != nil {
				continue
			}
			for {
				vals, err := rr.Next()
				if errors.Is(err, io.EOF) && rr.Row() != e.Rows {
					t.Fatalf("EOF after %d rows, manifest %d", rr.Row(), e.Rows)
				}
				if err != nil {
					break
				}
				if len(vals) != len(e.Columns) {
					t.Fatalf("%d values for %d columns", len(vals), len(e.Columns))
				}
			}
			rr.Close()
		}
	})
}
