package project

import "testing"

// TestReadComponentsLockfile: uploads read through internal/inventory, so
// a lockfile is accepted like an SBOM, and a malformed one is refused with
// an error naming it.
func TestReadComponentsLockfile(t *testing.T) {
	lock := []byte("GEM\n  remote: https://gems.example/\n  specs:\n    google-protobuf (3.21.6-x86_64-linux)\n\nDEPENDENCIES\n  google-protobuf\n")
	comps, format, err := ReadComponents(lock, "Gemfile.lock")
	if err != nil {
		t.Fatal(err)
	}
	if format != "Gemfile.lock" || len(comps) != 1 || comps[0].PURL != "pkg:gem/google-protobuf@3.21.6" || comps[0].Line != 4 {
		t.Fatalf("ReadComponents = %+v, %q", comps, format)
	}
	if _, _, err := ReadComponents([]byte("{"), "package-lock.json"); err == nil || err.Error()[:18] != "package-lock.json:" {
		t.Fatalf("bad lockfile: %v", err)
	}
}
