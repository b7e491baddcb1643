package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/bench/internal/genzip"
)

// TestWriteScaleDelta: the snapshot lists every record of the bucket but
// the removed ones, the changed ones first with the newer time, and holds
// each changed record's file with that time.
func TestWriteScaleDelta(t *testing.T) {
	bucket, out := filepath.Join(t.TempDir(), "b"), filepath.Join(t.TempDir(), "d")
	if _, err := genzip.Write(bucket, 200); err != nil {
		t.Fatal(err)
	}
	if err := writeScaleDelta(bucket, out); err != nil {
		t.Fatal(err)
	}
	list, err := os.ReadFile(filepath.Join(out, genzip.Ecosystem, "modified_id.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(list)), "\n")
	if len(lines) != 200-scaleDeltaRemoved {
		t.Fatalf("%d lines listed", len(lines))
	}
	seen := map[string]bool{}
	for i, l := range lines {
		ts, id, _ := strings.Cut(l, ",")
		if seen[id] {
			t.Fatalf("%s listed twice", id)
		}
		seen[id] = true
		if (ts == scaleDeltaTime) != (i < scaleDeltaChanged) {
			t.Fatalf("line %d: %s", i, l)
		}
		data, err := os.ReadFile(filepath.Join(out, genzip.Ecosystem, id+".json"))
		if i >= scaleDeltaChanged {
			if err == nil {
				t.Fatalf("%s: a file for an unchanged record", id)
			}
			continue
		}
		var v struct{ ID, Modified string }
		if err != nil || json.Unmarshal(data, &v) != nil || v.ID != id || v.Modified != scaleDeltaTime {
			t.Fatalf("%s: %+v %v", id, v, err)
		}
	}
}
