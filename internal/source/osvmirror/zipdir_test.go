package osvmirror

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func writeZip(t testing.TB, entries int, method uint16) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "all.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for i := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("R-%d.json", i), Method: method})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, `{"id":"R-%d"}`, i)
	}
	zw.Close()
	f.Close()
	return p
}

func TestZipDirectoryWalk(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries int
		method  uint16
	}{
		{"deflate", 10, zip.Deflate},
		{"stored", 10, zip.Store},
		{"zip64 entry count", 70000, zip.Deflate}, // over 65535 entries needs Zip64 records
	} {
		t.Run(tc.name, func(t *testing.T) {
			z, err := openZip(writeZip(t, tc.entries, tc.method))
			if err != nil {
				t.Fatal(err)
			}
			defer z.Close()
			if z.Count() != tc.entries {
				t.Fatalf("Count = %d", z.Count())
			}
			n := 0
			err = z.walk(func(e zipEntry) error {
				data, deflated, err := z.read(e, 1<<20, nil)
				if err != nil {
					return err
				}
				if want := fmt.Sprintf(`{"id":"R-%d"}`, n); string(data) != want {
					return fmt.Errorf("entry %d = %q, want %q", n, data, want)
				}
				if (deflated != nil) != (tc.method == zip.Deflate) {
					return fmt.Errorf("raw bytes returned = %v for method %d", deflated != nil, tc.method)
				}
				n++
				return nil
			})
			if err != nil || n != tc.entries {
				t.Fatalf("walked %d entries: %v", n, err)
			}
		})
	}
}

func TestZipDamage(t *testing.T) {
	good, _ := os.ReadFile(writeZip(t, 20, zip.Deflate))
	dir := t.TempDir()
	try := func(name string, data []byte) error {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		z, err := openZip(p)
		if err != nil {
			return err
		}
		defer z.Close()
		return z.walk(func(e zipEntry) error { _, _, err := z.read(e, 1<<20, nil); return err })
	}
	if err := try("good.zip", good); err != nil {
		t.Fatalf("intact archive: %v", err)
	}
	for name, data := range map[string][]byte{
		"truncated": good[:len(good)/2],
		"empty":     {},
		"garbage":   bytes.Repeat([]byte("PK"), 100),
	} {
		if err := try(name, data); err == nil {
			t.Errorf("%s archive accepted", name)
		}
	}
	// Flip a byte inside the first entry's compressed data: the checksum
	// (or the inflater) must catch it.
	bad := bytes.Clone(good)
	bad[40] ^= 0xff
	if err := try("flipped", bad); err == nil {
		t.Error("damaged entry accepted")
	}
}

// Entries read ahead through a zipWindow read as read reads them alone: in
// the archive's order (sequential window reads), in reverse (a window read
// per entry), larger than the window (read alone), and damaged.
func TestZipWindowReadsAsRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "all.zip")
	f, _ := os.Create(p)
	zw := zip.NewWriter(f)
	for i := range 3000 {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("R-%d.json", i), Method: []uint16{zip.Deflate, zip.Store}[i%2]})
		if i == 1501 { // stored, past the window's size
			w.Write(bytes.Repeat([]byte("x"), zipWindowSize+10))
		}
		fmt.Fprintf(w, `{"id":"R-%d","details":"%s"}`, i, bytes.Repeat([]byte("y"), i%700))
	}
	zw.Close()
	f.Close()
	good, _ := os.ReadFile(p)
	bad := bytes.Clone(good)
	bad[len(good)/3] ^= 0xff   // in the large entry's data
	bad[len(good)*4/5] ^= 0xff // in a small entry (the directory is the last ~9%)
	os.WriteFile(p+".bad", bad, 0o644)
	for _, path := range []string{p, p + ".bad"} {
		z, err := openZip(path)
		if err != nil {
			t.Fatal(err)
		}
		var entries []zipEntry
		z.walk(func(e zipEntry) error { entries = append(entries, e); return nil })
		reversed := slices.Clone(entries)
		slices.Reverse(reversed)
		for name, es := range map[string][]zipEntry{"in order": entries, "reversed": reversed} {
			var win zipWindow
			ahead, failed := 0, 0
			for _, e := range es {
				want, wantRaw, wantErr := z.read(e, 2*zipWindowSize, nil)
				win.prefetch(z, &e, 2*zipWindowSize)
				if e.block != nil {
					ahead++
				}
				got, gotRaw, err := z.read(e, 2*zipWindowSize, nil)
				if fmt.Sprint(err) != fmt.Sprint(wantErr) || !bytes.Equal(got, want) || !bytes.Equal(gotRaw, wantRaw) {
					t.Fatalf("%s %s: %s read ahead: %d bytes, %v; alone: %d bytes, %v", path, name, e.name, len(got), err, len(want), wantErr)
				}
				if err != nil {
					failed++
				}
			}
			if ahead != len(es)-1 || (path == p && failed != 0) || (path != p && failed < 2) {
				t.Errorf("%s %s: %d of %d entries read ahead, %d failed", path, name, ahead, len(es), failed)
			}
		}
		z.Close()
	}
}

// FuzzZipArchive feeds arbitrary bytes to the directory walker: it must
// fail cleanly, never panic or allocate without bound.
func FuzzZipArchive(f *testing.F) {
	for _, n := range []int{0, 1, 3} {
		b, _ := os.ReadFile(writeZip(f, n, zip.Deflate))
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz.zip")
		os.WriteFile(p, data, 0o644)
		z, err := openZip(p)
		if err != nil {
			return
		}
		defer z.Close()
		var win zipWindow
		z.walk(func(e zipEntry) error {
			z.read(e, 1<<20, nil)
			win.prefetch(z, &e, 1<<20)
			z.read(e, 1<<20, nil)
			return nil
		})
	})
}

func TestDuplicateIDsAreCounted(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "PyPI"), 0o755)
	os.WriteFile(filepath.Join(dir, "ecosystems.txt"), []byte("PyPI\n"), 0o644)
	f, _ := os.Create(filepath.Join(dir, "PyPI", "all.zip"))
	zw := zip.NewWriter(f)
	for range 3 {
		w, _ := zw.Create("DUP-1.json")
		w.Write([]byte(rec("DUP-1", "PyPI", "x", "")))
	}
	zw.Close()
	f.Close()
	st := openStore(t)
	e := doSync(t, st, "file://"+dir, "PyPI").Ecosystems[0]
	if e.Err != nil || e.Records != 1 || e.MalformedCount != 2 {
		t.Fatalf("%+v", e)
	}
}
