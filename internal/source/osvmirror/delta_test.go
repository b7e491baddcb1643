package osvmirror

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// TestDeltaRowsMatchFullImport (both engines): after an incremental sync
// to the corpus's delta snapshot (records updated in place, added,
// removed), then to a later snapshot that also gives records new aliases,
// new package keys and a withdrawn time (rewritten with their index rows,
// or updated in place), the rows stored for Go and the partition's counts
// are those a full import of the snapshot writes. Documents are compared
// inflated: a delta deflates what it downloads, an import keeps the zip's
// bytes.
//
// The partition's sketch of its IDs (store.IDSketch) is compared too: the
// one the deltas kept up to date must be the import's. Without a sketch
// (a partition written before sketches were kept) the first delta reads
// the stored IDs, and writes the sketch.
func TestDeltaRowsMatchFullImport(t *testing.T) {
	dir := corpus.Dir(t)
	srv := corpus.Serve(t, dir)
	later := laterSnapshot(t, filepath.Join(dir, "delta"))
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		for _, sketch := range []bool{true, false} {
			if !sketch { // a store of the same engine
				if st.Dialect() == store.Postgres {
					st = storetest.Postgres(t)
				} else {
					st = storetest.SQLite(t)
				}
			}
			srv.SetDir(dir)
			doSync(t, st, srv.URL, "Go")
			if !sketch {
				if _, err := st.DB().Exec(`UPDATE partition_state SET id_sketch = NULL`); err != nil {
					t.Fatal(err)
				}
			}
			for _, snap := range []string{filepath.Join(dir, "delta"), later} {
				srv.SetDir(snap)
				if e := doSync(t, st, srv.URL, "Go").Ecosystems[0]; e.Err != nil || e.Mode != ModeIncremental {
					t.Fatalf("sketch %v: delta sync to %s: %+v", sketch, snap, e)
				}
				sameRows(t, st, snap)
			}
		}
	})
}

// noSketchStore is a store whose partitions keep no sketch of their IDs
// and which counts the reads of stored IDs.
type noSketchStore struct {
	*store.Store
	sketches bool
	idReads  int
}

func (s *noSketchStore) IDSketch(ctx context.Context, part string) (*store.IDSketch, error) {
	if !s.sketches {
		return nil, nil
	}
	return s.Store.IDSketch(ctx, part)
}

func (s *noSketchStore) RecordIDs(ctx context.Context, part string) ([]string, error) {
	s.idReads++
	return s.Store.RecordIDs(ctx, part)
}

// TestDeltaBySketchReadsNoStoredIDs: the corpus's delta (records updated,
// added and removed) is told from the partition's sketch alone, without
// reading the stored IDs, and makes the same report as when the IDs are
// read; a sketch that cannot tell (more records removed upstream than it
// can read back) has them read.
func TestDeltaBySketchReadsNoStoredIDs(t *testing.T) {
	dir := corpus.Dir(t)
	srv := corpus.Serve(t, dir)
	sync := func(st *noSketchStore) EcosystemReport {
		m, err := New(st, Options{BaseURL: srv.URL, Ecosystems: []string{"Go"}, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := m.Sync(context.Background())
		if err != nil || len(rep.Ecosystems) != 1 {
			t.Fatalf("%+v %v", rep, err)
		}
		e := rep.Ecosystems[0]
		e.Duration = 0
		return e
	}
	reports := map[bool]EcosystemReport{}
	for _, sketches := range []bool{true, false} {
		st := &noSketchStore{Store: storetest.SQLite(t), sketches: sketches}
		srv.SetDir(dir)
		sync(st)
		srv.SetDir(filepath.Join(dir, "delta"))
		st.idReads = 0
		reports[sketches] = sync(st)
		if want := map[bool]int{true: 0, false: 1}[sketches]; st.idReads != want {
			t.Errorf("sketches %v: stored IDs read %d times, want %d", sketches, st.idReads, want)
		}
	}
	if e := reports[true]; e.Mode != ModeIncremental || e.Added != 5 || e.Updated != 20 || e.Removed != 5 || fmt.Sprint(e) != fmt.Sprint(reports[false]) {
		t.Fatalf("by the sketch: %+v\nby the IDs: %+v", e, reports[false])
	}

	// 300 of the 4,301 records gone: more than a sketch reads back, fewer
	// than the incremental limit (a tenth of the records).
	cut := t.TempDir()
	os.MkdirAll(filepath.Join(cut, "Go"), 0o755)
	os.WriteFile(filepath.Join(cut, "ecosystems.txt"), []byte("Go\n"), 0o644)
	list, err := os.ReadFile(filepath.Join(dir, "Go", "modified_id.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(list), "\n")
	os.WriteFile(filepath.Join(cut, "Go", "modified_id.csv"), []byte(strings.Join(lines[300:], "")), 0o644)
	st := &noSketchStore{Store: storetest.SQLite(t), sketches: true}
	srv.SetDir(dir)
	sync(st)
	srv.SetDir(cut)
	e := sync(st)
	if e.Err != nil || e.Mode != ModeIncremental || e.Removed != 300 || st.idReads != 1 {
		t.Fatalf("%+v, stored IDs read %d times", e, st.idReads)
	}
}

// laterSnapshot writes a Go bucket a day after delta/: three of its
// records changed again (one given a new alias, one a new package name,
// one withdrawn) with a newer modified time.
func laterSnapshot(t *testing.T, delta string) string {
	t.Helper()
	const when = "2026-11-21T00:00:00Z"
	change := map[string]func(v map[string]any){
		"GO-2022-0247": func(v map[string]any) { v["aliases"] = append(v["aliases"].([]any), "CVE-2099-0247") },
		"GO-2022-0804": func(v map[string]any) {
			pkg := v["affected"].([]any)[0].(map[string]any)["package"].(map[string]any)
			pkg["name"] = pkg["name"].(string) + "/renamed"
		},
		"GO-2023-2042": func(v map[string]any) { v["withdrawn"] = when },
	}
	zr, err := zip.OpenReader(filepath.Join(delta, "Go", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := t.TempDir()
	os.MkdirAll(filepath.Join(out, "Go"), 0o755)
	os.WriteFile(filepath.Join(out, "ecosystems.txt"), []byte("Go\n"), 0o644)
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	var csv strings.Builder
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
		id := strings.TrimSuffix(f.Name, ".json")
		if fn, ok := change[id]; ok {
			var v map[string]any
			if err := json.Unmarshal(data, &v); err != nil {
				t.Fatal(err)
			}
			fn(v)
			v["modified"] = when
			if data, err = json.Marshal(v); err != nil {
				t.Fatal(err)
			}
			delete(change, id)
		}
		var v struct{ Modified string }
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&csv, "%s,%s\n", v.Modified, id)
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil || len(change) != 0 {
		t.Fatalf("writing the snapshot: %v; records not found: %v", err, change)
	}
	os.WriteFile(filepath.Join(out, "Go", "all.zip"), zbuf.Bytes(), 0o644)
	os.WriteFile(filepath.Join(out, "Go", "modified_id.csv"), []byte(csv.String()), 0o644)
	return out
}

// sameRows fails unless st holds the Go rows a full import of snap writes.
func sameRows(t *testing.T, st *store.Store, snap string) {
	t.Helper()
	full := storetest.SQLite(t)
	if st.Dialect() == store.Postgres {
		full = storetest.Postgres(t)
	}
	doSync(t, full, "file://"+snap, "Go")
	got, want := goRows(t, st), goRows(t, full)
	for table := range want {
		if slices.Equal(got[table], want[table]) {
			continue
		}
		g, w := got[table], want[table]
		for i := 0; i < min(len(g), len(w)); i++ {
			if g[i] != w[i] {
				t.Fatalf("%s: %d rows after the delta, %d after a full import of %s; first difference:\n delta: %.300s\n full:  %.300s", table, len(g), len(w), snap, g[i], w[i])
			}
		}
		t.Fatalf("%s: %d rows after the delta, %d after a full import of %s", table, len(g), len(w), snap)
	}
}

// goRows reads the live rows of the Go partition as sorted strings per
// table, documents inflated.
func goRows(t *testing.T, st *store.Store) map[string][]string {
	t.Helper()
	live := ` JOIN partition_state p ON p.name = t.part AND p.generation = t.generation WHERE t.part = 'Go'`
	out := map[string][]string{}
	read := func(table, query string, row func(vals []any) string, n int) {
		rows, err := st.DB().QueryContext(context.Background(), query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			vals := make([]any, n)
			ptrs := make([]any, n)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], row(vals))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(out[table])
	}
	plain := func(vals []any) string { return fmt.Sprintf("%s", vals) }
	read("advisory", `SELECT t.id, t.modified, t.withdrawn, t.pkgs, t.data FROM advisory t`+live, func(vals []any) string {
		doc, err := store.Inflate(vals[4].([]byte))
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s %s %v %q %s", vals[0], vals[1], vals[2], vals[3], doc)
	}, 5)
	read("advisory_package", `SELECT t.ecosystem, t.name, t.id FROM advisory_package t`+live, plain, 3)
	read("advisory_alias", `SELECT t.alias, t.id FROM advisory_alias t`+live, plain, 2)
	read("partition_state", `SELECT records, withdrawn, malformed, id_sketch FROM partition_state WHERE name = 'Go'`, plain, 4)
	read("advisory_skipped", `SELECT id FROM advisory_skipped WHERE part = 'Go'`, plain, 1)
	if len(out["advisory"]) < 4000 || len(out["advisory_package"]) < 4000 || len(out["advisory_alias"]) < 4000 {
		t.Fatalf("too few rows read: %d advisory, %d package, %d alias rows", len(out["advisory"]), len(out["advisory_package"]), len(out["advisory_alias"]))
	}
	return out
}

// TestIncrementalLimitStopsDownloads: a delta over the incremental limit
// reads all.zip instead, whether modified_id.csv alone says so (the
// downloads it started early are stopped) or the comparison with the
// stored IDs does (records removed upstream count too). The bucket is an
// HTTP server whose record files never answer: the test sees the
// downloads start while modified_id.csv is read and sees each one given
// up by the client before all.zip is asked for.
func TestIncrementalLimitStopsDownloads(t *testing.T) {
	for _, removedToo := range []bool{false, true} {
		bucket := t.TempDir()
		recs := map[string]string{}
		for i := range 12 {
			id := fmt.Sprintf("GO-%d", i)
			recs[id+".json"] = rec(id, "Go", "example.com/m", "")
		}
		writeBucket(t, bucket, map[string]map[string]string{"Go": recs})
		st := openStore(t)
		doSync(t, st, "file://"+bucket, "Go")
		// Newer copies of 3 records, each with its own file, the newest
		// first; with removedToo, 9 records are gone upstream.
		var csv strings.Builder
		for i := range 12 {
			id := fmt.Sprintf("GO-%d", i)
			switch {
			case i < 3:
				body := strings.Replace(rec(id, "Go", "example.com/m", ""), "2024-01-01", "2024-03-01", 1)
				os.WriteFile(filepath.Join(bucket, "Go", id+".json"), []byte(body), 0o644)
				fmt.Fprintf(&csv, "2024-03-01T00:00:00Z,%s\n", id)
			case !removedToo:
				fmt.Fprintf(&csv, "2024-01-01T00:00:00Z,%s\n", id)
			}
		}
		srv, dl := stalledRecords(t, bucket, csv.String())
		limit := 2 // 3 changed exceed it
		if removedToo {
			limit = 4 // 3 changed do not, 3 + 9 removed do
		}
		m, err := New(st, Options{BaseURL: srv.URL, Ecosystems: []string{"Go"}, TempDir: t.TempDir(), DeltaLimit: limit})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := m.Sync(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		e := rep.Ecosystems[0]
		if e.Err != nil || e.Mode != ModeFull || !strings.Contains(e.Fallback, "exceed the incremental limit") {
			t.Fatalf("removed too %v: %+v", removedToo, e)
		}
		dl.mu.Lock()
		if dl.started == 0 || dl.givenUp != dl.started || dl.atZip != 0 {
			t.Errorf("removed too %v: %d record downloads started, %d given up by the client, %d still running when all.zip was asked for",
				removedToo, dl.started, dl.givenUp, dl.atZip)
		}
		dl.mu.Unlock()
	}
}

// recordDownloads counts the requests of a stalledRecords bucket.
type recordDownloads struct {
	mu       sync.Mutex
	started  int // record files asked for
	givenUp  int // of those, cancelled by the client
	running  int
	atZip    int // record requests running when all.zip was asked for
	firstHit chan struct{}
}

// stalledRecords serves the bucket dir with csv as Go/modified_id.csv.
// Record files (Go/<ID>.json) never answer: their requests last until the
// client cancels them (or 10 s). The csv's first line is sent, then the
// rest once a record was asked for (or after 10 s), so that downloads
// start while the file is read. all.zip waits (up to 10 s) for the record
// requests still running to end and counts them.
func stalledRecords(t *testing.T, dir, csv string) (*httptest.Server, *recordDownloads) {
	dl := &recordDownloads{firstHit: make(chan struct{})}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/Go/modified_id.csv":
			first, rest, _ := strings.Cut(csv, "\n")
			io.WriteString(w, first+"\n")
			w.(http.Flusher).Flush()
			select {
			case <-dl.firstHit:
			case <-time.After(10 * time.Second):
			}
			io.WriteString(w, rest)
		case p == "/Go/all.zip":
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
				dl.mu.Lock()
				running := dl.running
				dl.mu.Unlock()
				if running == 0 || time.Now().After(deadline) {
					dl.mu.Lock()
					dl.atZip += running
					dl.mu.Unlock()
					break
				}
			}
			files.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/Go/") && strings.HasSuffix(p, ".json"):
			dl.mu.Lock()
			if dl.started++; dl.started == 1 {
				close(dl.firstHit)
			}
			dl.running++
			dl.mu.Unlock()
			select {
			case <-r.Context().Done():
				dl.mu.Lock()
				dl.givenUp++
				dl.mu.Unlock()
			case <-time.After(10 * time.Second):
			}
			dl.mu.Lock()
			dl.running--
			dl.mu.Unlock()
		default:
			files.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, dl
}
