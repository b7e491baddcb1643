package gomod

import (
	"slices"
	"testing"
)

func TestPublishedVersions(t *testing.T) {
	// One version per line, sorted by SemVer; blank lines, non-canonical
	// and invalid lines are left out; +incompatible versions are kept.
	body := []byte("v1.6.0\nv1.10.0\n\nv1.5.1\r\nv1.9\nmaster\nv2.0.0+incompatible\nv1.9.0-rc.1\n")
	want := []string{"v1.5.1", "v1.6.0", "v1.9.0-rc.1", "v1.10.0", "v2.0.0+incompatible"}
	if got := PublishedVersions(body); !slices.Equal(got, want) {
		t.Errorf("PublishedVersions = %q, want %q", got, want)
	}
	if got := PublishedVersions(nil); len(got) != 0 {
		t.Errorf("empty list: %q", got)
	}
}
