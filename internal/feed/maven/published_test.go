package maven

import (
	"slices"
	"testing"
)

func TestPublishedVersions(t *testing.T) {
	md := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<metadata>
  <groupId>junit</groupId>
  <artifactId>junit</artifactId>
  <versioning>
    <latest>4.13.2</latest>
    <release>4.13.2</release>
    <versions>
      <version>4.13</version>
      <version> 4.6 </version>
      <version>4.13.2</version>
      <version>4.13-beta-1</version>
      <version>4.13.1</version>
      <version></version>
    </versions>
  </versioning>
</metadata>`)
	want := []string{"4.6", "4.13-beta-1", "4.13", "4.13.1", "4.13.2"}
	if got, err := PublishedVersions(md); err != nil || !slices.Equal(got, want) {
		t.Errorf("PublishedVersions = %q, %v; want %q", got, err, want)
	}
	if _, err := PublishedVersions([]byte("{}")); err == nil {
		t.Error("a document that is not XML gave no error")
	}
}
