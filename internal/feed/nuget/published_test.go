package nuget

import (
	"slices"
	"testing"
)

func TestPublishedVersions(t *testing.T) {
	// The flat container lists lower-case normalized versions; some
	// upstreams send them as written.
	body := []byte(`{"versions":["3.14.0","3.15.0-RC1","3.15.0","3.2.0"," 3.14.1 ",""]}`)
	want := []string{"3.2.0", "3.14.0", "3.14.1", "3.15.0-rc1", "3.15.0"}
	if got, err := PublishedVersions(body); err != nil || !slices.Equal(got, want) {
		t.Errorf("PublishedVersions = %q, %v; want %q", got, err, want)
	}
	if _, err := PublishedVersions([]byte("<x/>")); err == nil {
		t.Error("an index that is not JSON gave no error")
	}
}
