package backup

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vulngate/vulngate/internal/backup/archive"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// rewrite copies a backup, passing each entry through edit (nil drops it).
func rewrite(t testing.TB, src string, edit func(name string, data []byte) []byte) string {
	t.Helper()
	zr, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if data = edit(f.Name, data); data == nil {
			continue
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "edited.zip")
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// editManifest rewrites the manifest of a backup.
func editManifest(t testing.TB, src string, fn func(m *Manifest)) string {
	return rewrite(t, src, func(name string, data []byte) []byte {
		if name != archive.ManifestFile {
			return data
		}
		var m Manifest
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		fn(&m)
		b, _ := json.Marshal(m)
		return b
	})
}

// corruptions returns damaged copies of a good backup file, by name.
func corruptions(t testing.TB, good string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := map[string]string{}
	write := func(name string, b []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out[name] = p
	}
	write("empty", nil)
	write("not-a-zip", []byte("PK\x03\x04 this is not a backup"))
	for _, n := range []int{len(data) / 3, len(data) / 2, len(data) - 22, len(data) - 1} {
		write("truncated-"+strings.TrimSpace(string(rune('a'+len(out)))), data[:n])
	}
	// A flipped byte inside the compressed rows of the largest table.
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var big *zip.File
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "tables/") && (big == nil || f.CompressedSize64 > big.CompressedSize64) {
			big = f
		}
	}
	off, err := big.DataOffset()
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(data)
	flipped[off+int64(big.CompressedSize64)/2] ^= 0x55
	write("flipped-byte", flipped)
	// A row dropped, the zip itself intact: the manifest's count and
	// digest disagree.
	out["row-dropped"] = rewrite(t, good, func(name string, b []byte) []byte {
		if name == "tables/assessment_history.jsonl" {
			lines := strings.SplitAfter(string(b), "\n")
			return []byte(strings.Join(lines[1:], ""))
		}
		return b
	})
	out["row-changed"] = rewrite(t, good, func(name string, b []byte) []byte {
		if name == "tables/app_user.jsonl" {
			return bytes.Replace(b, []byte("alice"), []byte("eve00"), 1)
		}
		return b
	})
	out["no-manifest"] = rewrite(t, good, func(name string, b []byte) []byte {
		if name == archive.ManifestFile {
			return nil
		}
		return b
	})
	out["table-file-missing"] = rewrite(t, good, func(name string, b []byte) []byte {
		if name == "tables/feed.jsonl" {
			return nil
		}
		return b
	})
	out["bad-value"] = rewrite(t, good, func(name string, b []byte) []byte {
		if name == "tables/job_run.jsonl" {
			return []byte(`["not a number"` + string(b[bytes.IndexByte(b, ','):]))
		}
		return b
	})
	return out
}

// A damaged backup gets an error naming the file and the problem, and the
// target is left exactly as it was, with no scratch data behind.
func TestCorruptBackupChangesNothing(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, src *store.Store) {
		populate(t, src)
		good, _ := backupFile(t, src, Options{})
		target := sqliteTarget(t)
		if src.Dialect() == store.Postgres {
			target = pgTarget(t)
		}
		dst := openTarget(t, target)
		populateMore(t, dst)
		addAssessments(t, dst, 10)
		before := dump(t, dst, User, Mirror)
		dst.Close()
		for name, file := range corruptions(t, good) {
			_, err := Restore(context.Background(), file, target, RestoreOptions{Force: true})
			if err == nil {
				t.Errorf("%s: restore succeeded", name)
				continue
			}
			if !strings.Contains(err.Error(), file) {
				t.Errorf("%s: the error does not name the file: %v", name, err)
			}
			if _, verr := Verify(context.Background(), file); verr == nil {
				t.Errorf("%s: verify passed", name)
			}
			t.Logf("%s: %v", name, err)
			after := openTarget(t, target)
			if diff := cmp.Diff(before, dump(t, after, User, Mirror)); diff != "" {
				t.Errorf("%s: the target changed:\n%s", name, diff)
			}
			after.Close()
			leftovers(t, target)
		}
	})
}

func TestNewerBackupRefused(t *testing.T) {
	src := storetest.SQLite(t)
	populate(t, src)
	good, _ := backupFile(t, src, Options{})
	newer := editManifest(t, good, func(m *Manifest) {
		m.Migrations = append(m.Migrations, 99999)
		m.SchemaVersion = 99999
	})
	_, err := Restore(context.Background(), newer, sqliteTarget(t), RestoreOptions{})
	if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "99999") {
		t.Fatalf("restore of a newer backup: %v", err)
	}
	format := editManifest(t, good, func(m *Manifest) { m.Format = "vulngate-backup/2" })
	if _, err := Restore(context.Background(), format, sqliteTarget(t), RestoreOptions{}); err == nil || !strings.Contains(err.Error(), "upgrade vulngate") {
		t.Fatalf("restore of a newer format: %v", err)
	}
}

// downgrade rewrites a backup as an older vulngate at schema version old
// would have written it: the migrations up to old, and only the tables and
// columns that schema had.
func downgrade(t testing.TB, good string, old int64) (string, map[string]bool) {
	t.Helper()
	ctx := context.Background()
	sc, err := store.NewScratch(ctx, sqliteTarget(t), old)
	if err != nil {
		t.Fatal(err)
	}
	oldTables, err := sc.Tables(ctx)
	sc.Discard()
	if err != nil {
		t.Fatal(err)
	}
	had := map[string]store.Table{}
	for _, tb := range oldTables {
		had[tb.Name] = tb
	}
	r, err := archive.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m := *r.Manifest
	m.Migrations = m.Migrations[:slices.Index(m.Migrations, old)+1]
	m.SchemaVersion, m.Tables = old, nil
	out := filepath.Join(t.TempDir(), "older.zip")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := archive.NewWriter(f, m.Created)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for i := range r.Manifest.Tables {
		e := &r.Manifest.Tables[i]
		tb, ok := had[e.Name]
		if !ok {
			continue
		}
		names[e.Name] = true
		ne := archive.TableEntry{Name: e.Name, Class: e.Class}
		var keep []int
		for j, c := range e.Columns {
			if _, ok := tb.Column(c.Name); ok {
				keep = append(keep, j)
				ne.Columns = append(ne.Columns, c)
			}
		}
		tw, err := w.Table(&ne)
		if err != nil {
			t.Fatal(err)
		}
		rr, err := r.Rows(e)
		if err != nil {
			t.Fatal(err)
		}
		for {
			vals, err := rr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			row := make([]any, len(keep))
			for k, j := range keep {
				row[k] = vals[j]
			}
			if err := tw.Write(row); err != nil {
				t.Fatal(err)
			}
		}
		rr.Close()
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		m.Tables = append(m.Tables, ne)
	}
	if err := w.Close(&m); err != nil {
		t.Fatal(err)
	}
	return out, names
}

// A backup of an older schema is loaded at its version, then migrated.
func TestOlderBackupIsMigrated(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, src *store.Store) {
		ctx := context.Background()
		populate(t, src)
		good, m := backupFile(t, src, Options{})
		const old = 5
		older, had := downgrade(t, good, old)
		target := sqliteTarget(t)
		if src.Dialect() == store.Postgres {
			target = pgTarget(t)
		}
		res, err := Restore(ctx, older, target, RestoreOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := m.Migrations[slices.Index(m.Migrations, old)+1:]; !slices.Equal(res.Migrated, want) {
			t.Errorf("migrations applied after loading: %v, want %v", res.Migrated, want)
		}
		dst := openTarget(t, target)
		if err := dst.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		// The fixture leaves the columns added since at their defaults.
		want, got := dump(t, src, User), dump(t, dst, User)
		for name := range want {
			if !had[name] {
				delete(want, name)
				delete(got, name)
			}
		}
		if len(want) < 10 {
			t.Fatalf("only %d tables compared", len(want))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("restored tables differ:\n%s", diff)
		}
	})
}
