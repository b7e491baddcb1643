package main

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// writeBucket writes a bucket-layout directory with one ecosystem whose
// all.zip holds docs (DEFLATE entries), and returns its path.
func writeBucket(t *testing.T, docs map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ecosystems.txt"), []byte("Go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, doc := range docs {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(doc))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "Go"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "Go", "all.zip"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestInflateFloorChild: every entry is inflated (its bytes counted) and
// the time is printed as ownTime reads it; a damaged entry fails.
func TestInflateFloorChild(t *testing.T) {
	docs := map[string]string{"GO-1.json": strings.Repeat(`{"id":"GO-1"}`, 500), "GO-2.json": `{"id":"GO-2"}`}
	dir := writeBucket(t, docs)
	outFile := filepath.Join(t.TempDir(), "out")
	out, err := os.Create(outFile)
	if err != nil {
		t.Fatal(err)
	}
	code := inflateFloorChild(dir, out)
	out.Close()
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	size := 0
	for _, d := range docs {
		size += len(d)
	}
	text := readTrim(outFile)
	if want := "(2 entries, " + strconv.Itoa(size) + " bytes inflated"; !strings.Contains(text, want) {
		t.Fatalf("output %q, want %q", text, want)
	}
	if wall, _, ok := ownTime(run{Stdout: outFile}, inflateLine); !ok || wall <= 0 {
		t.Fatalf("no time in %q", text)
	}

	// A flipped byte in the compressed data fails the CRC or the decoder.
	zipPath := filepath.Join(dir, "Go", "all.zip")
	data, _ := os.ReadFile(zipPath)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	off, _ := zr.File[0].DataOffset()
	data[off+int64(zr.File[0].CompressedSize64)/2] ^= 0xff
	os.WriteFile(zipPath, data, 0o644)
	if code := inflateFloorChild(dir, os.Stderr); code == 0 {
		t.Fatal("a damaged entry did not fail the floor")
	}
}
