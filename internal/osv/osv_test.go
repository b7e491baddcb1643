package osv

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2024-03-06T11:25:28.861Z":  time.Date(2024, 3, 6, 11, 25, 28, 861e6, time.UTC),
		"2024-03-06T12:25:28+01:00": time.Date(2024, 3, 6, 11, 25, 28, 0, time.UTC),
		"2024-03-06T11:25:28":       time.Date(2024, 3, 6, 11, 25, 28, 0, time.UTC), // no zone: UTC
		"2024-03-06":                time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC),
	} {
		got, err := ParseTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseTime("yesterday"); err == nil {
		t.Error("ParseTime accepted garbage")
	}
}

func TestParseAndHeader(t *testing.T) {
	good := `{"id":"GHSA-x","modified":"2024-01-01T00:00:00Z","withdrawn":"2024-02-01T00:00:00Z","aliases":["CVE-1"],
"affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0"}]}]}],
"database_specific":{"x":1}}`
	v, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if !v.IsWithdrawn() || strings.Join(v.IDs(), ",") != "GHSA-x,CVE-1" || string(v.DatabaseSpecific) != `{"x":1}` {
		t.Fatalf("parsed %+v", v)
	}
	h, err := ParseHeader([]byte(good))
	if err != nil || h.ID != "GHSA-x" || !h.IsWithdrawn() || h.Affected[0].Package.Name != "openssl" {
		t.Fatalf("header %+v %v", h, err)
	}
	for name, doc := range map[string]string{
		"not json":           `{"id":`,
		"no id":              `{"modified":"2024-01-01T00:00:00Z"}`,
		"no modified":        `{"id":"X"}`,
		"bad timestamp":      `{"id":"X","modified":"soon"}`,
		"unknown range type": `{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"a"},"ranges":[{"type":"DATE","events":[{"introduced":"0"}]}]}]}`,
	} {
		if _, err := Parse([]byte(doc)); !errors.Is(err, ErrMalformed) && !strings.Contains(fmtErr(err), "timestamp") {
			t.Errorf("Parse(%s): err = %v", name, err)
		}
		if _, err := ParseHeader([]byte(doc)); err == nil {
			t.Errorf("ParseHeader(%s) accepted it", name)
		}
	}
	// Full parsing also checks that each event sets exactly one field.
	twoFields := `{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0","fixed":"1"}]}]}]}`
	if _, err := Parse([]byte(twoFields)); !errors.Is(err, ErrMalformed) {
		t.Errorf("event with two fields: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestBaseEcosystem(t *testing.T) {
	for in, want := range map[string]string{"Debian:12": "Debian", "Ubuntu:Pro:14.04:LTS": "Ubuntu", "PyPI": "PyPI", "": ""} {
		if got := BaseEcosystem(in); got != want {
			t.Errorf("BaseEcosystem(%q) = %q", in, got)
		}
	}
}
