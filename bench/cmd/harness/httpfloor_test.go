package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestFloorChild: the floor fetches every listed path once, the files that
// are not records before any record, and prints its own time in the form
// ownTime reads.
func TestFloorChild(t *testing.T) {
	var mu sync.Mutex
	var order []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Path)
		mu.Unlock()
		w.Write([]byte(strings.Repeat("x", 100)))
	}))
	defer srv.Close()
	paths := []string{"/ecosystems.txt", "/Go/modified_id.csv"}
	for _, id := range []string{"GO-1", "GO-2", "GO-3", "GO-4", "GO-5", "GO-6", "GO-7", "GO-8", "GO-9"} {
		paths = append(paths, "/Go/"+id+".json")
	}
	dir := t.TempDir()
	list := filepath.Join(dir, "paths")
	if err := os.WriteFile(list, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(dir, "out")
	out, err := os.Create(outFile)
	if err != nil {
		t.Fatal(err)
	}
	code := floorChild(list, []string{srv.URL}, out)
	out.Close()
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if len(order) != len(paths) {
		t.Fatalf("%d requests, want %d: %v", len(order), len(paths), order)
	}
	seen := map[string]int{}
	for i, p := range order {
		seen[p]++
		if i < 2 && strings.HasSuffix(p, ".json") {
			t.Fatalf("record %s fetched before the lists: %v", p, order)
		}
	}
	for _, p := range paths {
		if seen[p] != 1 {
			t.Errorf("%s fetched %d times", p, seen[p])
		}
	}
	wall, _, ok := ownTime(run{Stdout: outFile}, floorLine)
	if !ok || wall <= 0 {
		t.Fatalf("no time in the output: %q", readTrim(outFile))
	}
	if !strings.Contains(readTrim(outFile), "11 requests, 1100 bytes, 2 workers") {
		t.Errorf("output %q", readTrim(outFile))
	}
}

// TestFloorChildFailsOnErrors: a missing file fails the floor.
func TestFloorChildFailsOnErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	list := filepath.Join(t.TempDir(), "paths")
	os.WriteFile(list, []byte("/Go/modified_id.csv\n"), 0o644)
	if code := floorChild(list, []string{srv.URL}, os.Stderr); code == 0 {
		t.Fatal("a 404 did not fail the floor")
	}
}
