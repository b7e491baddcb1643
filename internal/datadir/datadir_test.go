package datadir

import (
	"path/filepath"
	"testing"
)

func TestResolveOrder(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv(EnvVar, filepath.Join(tmp, "env"))
	t.Setenv("XDG_DATA_HOME", filepath.Join(tmp, "xdg"))

	got, err := Resolve(filepath.Join(tmp, "flag"))
	if err != nil || got != filepath.Join(tmp, "flag") {
		t.Fatalf("flag: got %q, %v", got, err)
	}
	got, err = Resolve("")
	if err != nil || got != filepath.Join(tmp, "env") {
		t.Fatalf("env: got %q, %v", got, err)
	}
	t.Setenv(EnvVar, "")
	got, err = Resolve("")
	if err != nil || got != filepath.Join(tmp, "xdg", "vulngate") {
		t.Fatalf("xdg: got %q, %v", got, err)
	}
	dir, err := Ensure("")
	if err != nil || dir != got {
		t.Fatalf("Ensure: %q %v", dir, err)
	}
}
