package npm

import (
	"slices"
	"testing"
)

func TestPublishedVersions(t *testing.T) {
	// A full packument and an abbreviated one (npm install's): deprecated
	// versions (a reason, or true) are left out; order is by SemVer.
	full := []byte(`{"name":"ansi-html","dist-tags":{"latest":"0.0.9"},"time":{"0.0.1":"2015-01-01T00:00:00Z"},
		"versions":{"0.0.10":{"version":"0.0.10"},"0.0.7":{"version":"0.0.7","deprecated":""},"0.0.8":{"version":"0.0.8","deprecated":"use 0.0.9"},
		"0.0.9":{"version":"0.0.9","dist":{"tarball":"x"}},"1.0.0-rc.1":{"version":"1.0.0-rc.1","deprecated":false}}}`)
	abbreviated := []byte(`{"name":"ansi-html","modified":"2024-01-01T00:00:00Z","dist-tags":{"latest":"0.0.9"},
		"versions":{"0.0.9":{"name":"ansi-html","version":"0.0.9"},"0.0.8":{"name":"ansi-html","version":"0.0.8","deprecated":true}}}`)
	for _, c := range []struct {
		name string
		body []byte
		want []string
	}{
		{"full", full, []string{"0.0.7", "0.0.9", "0.0.10", "1.0.0-rc.1"}},
		{"abbreviated", abbreviated, []string{"0.0.9"}},
		{"no versions", []byte(`{"name":"x"}`), []string{}},
	} {
		got, err := PublishedVersions(c.body)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	if _, err := PublishedVersions([]byte(`<html>`)); err == nil {
		t.Error("a packument that is not JSON gave no error")
	}
}
