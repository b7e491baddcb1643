package osvmirror

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func doSync(t testing.TB, st *store.Store, base string, ecos ...string) Report {
	t.Helper()
	m, err := New(st, Options{BaseURL: base, Ecosystems: ecos, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := m.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return rep
}

// zipEntries counts the entries of a zip file.
func zipEntries(t testing.TB, p string) int {
	t.Helper()
	z, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	return len(z.File)
}

func ids(t testing.TB, st *store.Store, eco, name string) []string {
	t.Helper()
	adv, err := st.AdvisoriesFor(context.Background(), eco, name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range adv {
		out = append(out, a.ID)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestFullImportReleasesArchiveWhenParsed: a full import from a remote
// source gives its downloaded archive up before it lets the next
// ecosystem start (parsed), not once its writes are committed.
func TestFullImportReleasesArchiveWhenParsed(t *testing.T) {
	dir := corpus.Dir(t)
	srv := corpus.Serve(t, dir)
	tmp := t.TempDir()
	m, err := New(openStore(t), Options{BaseURL: srv.URL, Ecosystems: []string{"Go"}, TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	calls, left := 0, -1
	rep := m.full(context.Background(), "Go", "", func() {
		calls++
		files, err := os.ReadDir(tmp)
		if err != nil {
			t.Error(err)
		}
		left = len(files)
	})
	if rep.Err != nil || rep.Records == 0 {
		t.Fatalf("%+v", rep)
	}
	if calls != 1 || left != 0 {
		t.Fatalf("parsed called %d times; %d files left in the temporary directory then, want none", calls, left)
	}
}

func TestFullImportEveryCorpusEcosystem(t *testing.T) {
	dir := corpus.Dir(t)
	srv := corpus.Serve(t, dir)
	st := openStore(t)
	avail, err := readEcosystems(context.Background(), &fileFetcher{dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rep := doSync(t, st, srv.URL, avail...)
	total := 0
	for _, e := range rep.Ecosystems {
		if e.Err != nil {
			t.Errorf("%s: %v", e.Ecosystem, e.Err)
			continue
		}
		want := zipEntries(t, filepath.Join(dir, e.Ecosystem, "all.zip"))
		if e.Records+e.MalformedCount != want {
			t.Errorf("%s: %d records + %d malformed, zip has %d entries (samples %v)", e.Ecosystem, e.Records, e.MalformedCount, want, e.Malformed)
		}
		if e.Mode != ModeFull {
			t.Errorf("%s: mode %s, want full", e.Ecosystem, e.Mode)
		}
		total += e.Records
	}
	n, err := st.CountAdvisories(context.Background())
	if err != nil || n != total {
		t.Fatalf("store holds %d advisories (%v), report says %d", n, err, total)
	}
	// Real lookups: GO-2022-0247 affects the Go toolchain.
	if got := ids(t, st, "Go", "toolchain"); !contains(got, "GO-2022-0247") {
		t.Errorf("Go/toolchain advisories %v lack GO-2022-0247", got)
	}
	// PyPI names are indexed PEP 503-normalized.
	if got := ids(t, st, "PyPI", "ansible"); !contains(got, "PYSEC-2021-1") {
		t.Errorf("PyPI/ansible advisories lack PYSEC-2021-1: %v", got)
	}
	// A second sync with nothing changed reads only modified_id.csv.
	before := srv.Hits("Go/all.zip")
	rep = doSync(t, st, srv.URL, "Go")
	if rep.Ecosystems[0].Mode != ModeUnchanged || srv.Hits("Go/all.zip") != before {
		t.Errorf("second sync: mode %s, all.zip fetched %d more times", rep.Ecosystems[0].Mode, srv.Hits("Go/all.zip")-before)
	}
}

func TestIncrementalRefreshWithDelta(t *testing.T) {
	dir := corpus.Dir(t)
	srv := corpus.Serve(t, dir)
	st := openStore(t)
	rep := doSync(t, st, srv.URL, "Go")
	if e := rep.Ecosystems[0]; e.Err != nil || e.Mode != ModeFull {
		t.Fatalf("first sync: %+v", e)
	}
	srv.SetDir(filepath.Join(dir, "delta"))
	zipHits := srv.Hits("Go/all.zip")
	reqs := srv.Requests.Load()
	rep = doSync(t, st, srv.URL, "Go")
	e := rep.Ecosystems[0]
	if e.Err != nil {
		t.Fatal(e.Err)
	}
	// delta/changes.json: 20 modified, 5 removed, 5 added.
	if e.Mode != ModeIncremental || e.Updated != 20 || e.Added != 5 || e.Removed != 5 {
		t.Fatalf("delta sync: mode %s updated %d added %d removed %d (fallback %q)", e.Mode, e.Updated, e.Added, e.Removed, e.Fallback)
	}
	if srv.Hits("Go/all.zip") != zipHits {
		t.Errorf("incremental sync downloaded all.zip")
	}
	// ecosystems.txt + modified_id.csv + 25 records.
	if got := srv.Requests.Load() - reqs; got != 27 {
		t.Errorf("incremental sync made %d requests, want 27", got)
	}
	adv, err := st.AdvisoriesByID(context.Background(), "GO-2022-0247")
	if err != nil || len(adv) != 1 || !bytes.Contains(adv[0].Data, []byte("[delta snapshot 2026-11-20]")) {
		t.Fatalf("GO-2022-0247 not updated: %v %d", err, len(adv))
	}
	if adv, _ := st.AdvisoriesByID(context.Background(), "GO-2022-1129"); len(adv) != 0 {
		t.Errorf("removed record GO-2022-1129 still stored")
	}
	if got := ids(t, st, "Go", "example.com/osv-corpus/synthetic3"); !contains(got, "GO-2099-0003") {
		t.Errorf("added record not indexed: %v", got)
	}
	if e.Records != 4301 {
		t.Errorf("records after delta = %d, want 4301", e.Records)
	}
}

// BeforeFull is called as each full import opens its archive, and not by
// an incremental sync.
func TestBeforeFullOnlyForFullImports(t *testing.T) {
	dir := corpus.Dir(t)
	srv := corpus.Serve(t, dir)
	st := openStore(t)
	var calls atomic.Int32
	sync := func() Report {
		t.Helper()
		m, err := New(st, Options{BaseURL: srv.URL, Ecosystems: []string{"Go"}, TempDir: t.TempDir(),
			BeforeFull: func() { calls.Add(1) }})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := m.Sync(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := sync(); calls.Load() != 1 || rep.Ecosystems[0].Mode != ModeFull {
		t.Fatalf("first sync (%s): BeforeFull called %d times, want once", rep.Ecosystems[0].Mode, calls.Load())
	}
	srv.SetDir(filepath.Join(dir, "delta"))
	if rep := sync(); calls.Load() != 1 || rep.Ecosystems[0].Mode != ModeIncremental {
		t.Errorf("second sync (%s): BeforeFull called %d more times, want an incremental sync without it", rep.Ecosystems[0].Mode, calls.Load()-1)
	}
}

func TestIncrementalFallsBackWithoutPerRecordFiles(t *testing.T) {
	dir := corpus.Dir(t)
	st := openStore(t)
	doSync(t, st, "file://"+dir, "Go")
	// The corpus has no <ID>.json files: the delta falls back to all.zip.
	rep := doSync(t, st, "file://"+filepath.Join(dir, "delta"), "Go")
	e := rep.Ecosystems[0]
	if e.Err != nil || e.Mode != ModeFull || !strings.Contains(e.Fallback, "per-record") {
		t.Fatalf("got %+v", e)
	}
	if e.Updated != 20 || e.Added != 5 || e.Removed != 5 {
		t.Errorf("full re-import counted updated %d added %d removed %d", e.Updated, e.Added, e.Removed)
	}
}

func TestUnknownEcosystemListsValidOnes(t *testing.T) {
	dir := corpus.Dir(t)
	st := openStore(t)
	m, err := New(st, Options{BaseURL: "file://" + dir, Ecosystems: []string{"Go", "NoSuchEco"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "NoSuchEco") || !strings.Contains(err.Error(), "crates.io") {
		t.Fatalf("err = %v", err)
	}
	if n, _ := st.CountAdvisories(context.Background()); n != 0 {
		t.Fatalf("something was imported: %d", n)
	}
}

func TestCaseInsensitiveSelection(t *testing.T) {
	got, err := resolveSelection([]string{"pypi", "debian:12", "PyPI"}, []string{"Debian", "PyPI"})
	if err != nil || strings.Join(got, ",") != "PyPI,Debian:12" {
		t.Fatalf("got %v %v", got, err)
	}
}

// writeBucket writes a bucket directory from records per ecosystem.
func writeBucket(t testing.TB, dir string, ecos map[string]map[string]string) {
	t.Helper()
	var names []string
	for eco, recs := range ecos {
		names = append(names, eco)
		if err := os.MkdirAll(filepath.Join(dir, eco), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, eco, "all.zip"))
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		var csv strings.Builder
		for name, body := range recs {
			w, err := zw.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(body))
			fmt.Fprintf(&csv, "2024-01-01T00:00:00Z,%s\n", strings.TrimSuffix(name, ".json"))
		}
		zw.Close()
		f.Close()
		os.WriteFile(filepath.Join(dir, eco, "modified_id.csv"), []byte(csv.String()), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "ecosystems.txt"), []byte(strings.Join(names, "\n")+"\n"), 0o644)
}

func rec(id, eco, name string, extra string) string {
	return fmt.Sprintf(`{"id":%q,"modified":"2024-01-01T00:00:00Z"%s,"affected":[{"package":{"ecosystem":%q,"name":%q},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0"}]}]}]}`, id, extra, eco, name)
}

func TestHostileAndMalformedEntries(t *testing.T) {
	dir := t.TempDir()
	writeBucket(t, dir, map[string]map[string]string{"PyPI": {
		"GOOD-1.json":   rec("GOOD-1", "PyPI", "Requests", ""),
		"../evil.json":  rec("evil", "PyPI", "requests", ""),
		"sub/x.json":    rec("x", "PyPI", "requests", ""),
		"BROKEN-1.json": `{"id": "BROKEN-1", "modified": `,
		"NOMOD-1.json":  `{"id": "NOMOD-1"}`,
		"MISMATCH.json": rec("OTHER", "PyPI", "requests", ""),
		"WD-1.json":     rec("WD-1", "PyPI", "requests", `,"withdrawn":"2024-02-01T00:00:00Z"`),
		"readme.txt":    "hello",
	}})
	st := openStore(t)
	rep := doSync(t, st, "file://"+dir, "PyPI")
	e := rep.Ecosystems[0]
	if e.Err != nil {
		t.Fatal(e.Err)
	}
	if e.Records != 2 || e.Withdrawn != 1 || e.MalformedCount != 6 {
		t.Fatalf("records %d withdrawn %d malformed %d: %+v", e.Records, e.Withdrawn, e.MalformedCount, e.Malformed)
	}
	reasons := fmt.Sprint(e.Malformed)
	for _, want := range []string{`"..`, "archive root", "malformed OSV record", "missing modified", "does not match", "not a .json"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("malformed reasons %s lack %q", reasons, want)
		}
	}
	// Withdrawn records are stored but never returned for matching.
	if got := ids(t, st, "PyPI", "requests"); strings.Join(got, ",") != "GOOD-1" {
		t.Errorf("lookup = %v, want only GOOD-1", got)
	}
	if adv, _ := st.AdvisoriesByID(context.Background(), "WD-1"); len(adv) != 1 || !adv[0].Withdrawn {
		t.Errorf("withdrawn record not kept and flagged: %+v", adv)
	}
}

func TestZipBombEntryIsRejected(t *testing.T) {
	dir := t.TempDir()
	writeBucket(t, dir, map[string]map[string]string{"PyPI": {"GOOD-1.json": rec("GOOD-1", "PyPI", "x", "")}})
	// Add an entry that inflates to 64 MiB of spaces (ratio ~1000:1).
	f, _ := os.OpenFile(filepath.Join(dir, "PyPI", "all.zip"), os.O_RDWR, 0)
	z, _ := zip.OpenReader(f.Name())
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range z.File {
		zw.Copy(e)
	}
	z.Close()
	w, _ := zw.Create("BOMB-1.json")
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for range 64 {
		w.Write(chunk)
	}
	zw.Close()
	f.Close()
	os.WriteFile(filepath.Join(dir, "PyPI", "all.zip"), buf.Bytes(), 0o644)

	st := openStore(t)
	rep := doSync(t, st, "file://"+dir, "PyPI")
	e := rep.Ecosystems[0]
	if e.Err != nil || e.Records != 1 || e.MalformedCount != 1 || !strings.Contains(e.Malformed[0].Reason, "limit") && !strings.Contains(e.Malformed[0].Reason, "bomb") {
		t.Fatalf("%+v", e)
	}
}

func TestFailedImportKeepsPreviousData(t *testing.T) {
	dir := corpus.Dir(t)
	srv := corpus.Serve(t, dir)
	st := openStore(t)
	doSync(t, st, srv.URL, "Go", "PyPI")
	before, _ := st.CountAdvisories(context.Background())

	// A truncated all.zip and an unreadable modified_id.csv force a full
	// import that fails; the previous Go data must stay queryable.
	bad := t.TempDir()
	data, _ := os.ReadFile(filepath.Join(dir, "Go", "all.zip"))
	os.MkdirAll(filepath.Join(bad, "Go"), 0o755)
	os.MkdirAll(filepath.Join(bad, "PyPI"), 0o755)
	os.WriteFile(filepath.Join(bad, "ecosystems.txt"), []byte("Go\nPyPI\n"), 0o644)
	os.WriteFile(filepath.Join(bad, "Go", "all.zip"), data[:len(data)/2], 0o644)
	os.WriteFile(filepath.Join(bad, "Go", "modified_id.csv"), []byte("not a csv line\n"), 0o644)
	for _, f := range []string{"all.zip", "modified_id.csv"} {
		b, _ := os.ReadFile(filepath.Join(dir, "PyPI", f))
		os.WriteFile(filepath.Join(bad, "PyPI", f), b, 0o644)
	}
	rep := doSync(t, st, "file://"+bad, "Go", "PyPI")
	if rep.Ecosystems[0].Err == nil || !strings.Contains(rep.Ecosystems[0].Err.Error(), "zip") {
		t.Fatalf("Go sync with truncated zip: %+v", rep.Ecosystems[0])
	}
	if rep.Ecosystems[1].Err != nil {
		t.Fatalf("PyPI should still sync: %v", rep.Ecosystems[1].Err)
	}
	after, _ := st.CountAdvisories(context.Background())
	if after != before {
		t.Fatalf("advisories %d -> %d after a failed import", before, after)
	}
	if got := ids(t, st, "Go", "toolchain"); !contains(got, "GO-2022-0247") {
		t.Errorf("previous Go data lost")
	}
}

func TestEcosystemMissingFromBucketDoesNotStopOthers(t *testing.T) {
	dir := corpus.Dir(t)
	srv := corpus.Serve(t, dir)
	srv.Fail("NuGet/all.zip", http.StatusNotFound)
	st := openStore(t)
	rep := doSync(t, st, srv.URL, "NuGet", "crates.io")
	if rep.Ecosystems[0].Err == nil || rep.Ecosystems[1].Err != nil || rep.Ecosystems[1].Records == 0 {
		t.Fatalf("%+v", rep)
	}
	if !rep.Failed() {
		t.Error("Failed() = false")
	}
}

func TestServerErrorsAreRetriedThenReported(t *testing.T) {
	dir := corpus.Dir(t)
	srv := corpus.Serve(t, dir)
	srv.Fail("CRAN/all.zip", http.StatusServiceUnavailable)
	st := openStore(t)
	rep := doSync(t, st, srv.URL, "CRAN")
	if rep.Ecosystems[0].Err == nil || !strings.Contains(rep.Ecosystems[0].Err.Error(), "503") {
		t.Fatalf("%+v", rep.Ecosystems[0])
	}
	if got := srv.Hits("CRAN/all.zip"); got != fetchAttempts {
		t.Errorf("all.zip requested %d times, want %d attempts", got, fetchAttempts)
	}
}

func TestCancelledImportLeavesNoTrace(t *testing.T) {
	dir := corpus.Dir(t)
	st := openStore(t)
	doSync(t, st, "file://"+dir, "CRAN")
	before, _ := st.CountAdvisories(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	m, _ := New(st, Options{BaseURL: "file://" + dir, Ecosystems: []string{"Bitnami"}, NewProgress: func() Progress {
		return &cancelAfter{n: 3000, cancel: cancel}
	}})
	rep, _ := m.Sync(ctx)
	if len(rep.Ecosystems) != 1 || rep.Ecosystems[0].Err == nil {
		t.Fatalf("cancelled import reported success: %+v", rep)
	}
	after, _ := st.CountAdvisories(context.Background())
	if after != before {
		t.Fatalf("advisories %d -> %d", before, after)
	}
	if _, err := st.Partition(context.Background(), "Bitnami"); !errors.Is(err, store.ErrNoPartition) {
		t.Fatalf("Bitnami partition exists after cancelled import: %v", err)
	}
	var n int
	st.DB().QueryRow(`SELECT COUNT(*) FROM advisory WHERE part = 'Bitnami'`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d rows of the cancelled import remain", n)
	}
}

type cancelAfter struct {
	n, seen int
	cancel  func()
}

func (c *cancelAfter) Start(string, int) {}
func (c *cancelAfter) Add(n int) {
	c.seen += n
	if c.seen >= c.n {
		c.cancel()
	}
}
func (c *cancelAfter) Finish() {}

func TestReleaseSuffixKeepsOnlyThatRelease(t *testing.T) {
	dir := t.TempDir()
	writeBucket(t, dir, map[string]map[string]string{"Debian": {
		"DSA-1.json": rec("DSA-1", "Debian:12", "openssl", ""),
		"DSA-2.json": rec("DSA-2", "Debian:11", "openssl", ""),
		"DSA-3.json": rec("DSA-3", "Debian", "curl", ""),
	}})
	st := openStore(t)
	rep := doSync(t, st, "file://"+dir, "Debian:12")
	if e := rep.Ecosystems[0]; e.Err != nil || e.Records != 2 || e.Ecosystem != "Debian:12" {
		t.Fatalf("%+v", e)
	}
	if got := ids(t, st, "Debian", "openssl"); strings.Join(got, ",") != "DSA-1" {
		t.Errorf("openssl: %v", got)
	}
	if got := ids(t, st, "Debian", "curl"); strings.Join(got, ",") != "DSA-3" {
		t.Errorf("curl: %v", got)
	}
}

func TestModifiedCSV(t *testing.T) {
	l, err := readModifiedCSV(strings.NewReader("2024-03-06T11:25:28.861Z,GO-1\n2024-01-01T00:00:00Z,ALSA-2024:8127\n"), "x", time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.times(); len(got) != 2 || !got["GO-1"].Equal(time.Date(2024, 3, 6, 11, 25, 28, 861e6, time.UTC)) {
		t.Fatalf("%v", got)
	}
	for _, bad := range []string{"GO-1\n", "yesterday,GO-1\n", "2024-01-01T00:00:00Z,../x\n"} {
		if _, err := readModifiedCSV(strings.NewReader(bad), "x", time.Time{}, nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

var _ = osv.BaseEcosystem

// A record skipped as malformed (PYSEC-2024-55 has no modified time) must
// not make every later sync take the partition for incomplete and import
// all.zip again; when upstream fixes it (newer modified), it is fetched.
func TestMalformedRecordDoesNotForceFullReimport(t *testing.T) {
	dir := corpus.Dir(t)
	st := openStore(t)
	rep := doSync(t, st, "file://"+dir, "PyPI")
	if e := rep.Ecosystems[0]; e.Err != nil || e.Mode != ModeFull || e.MalformedCount == 0 {
		t.Fatalf("first sync: %+v", e)
	}
	rep = doSync(t, st, "file://"+dir, "PyPI")
	if e := rep.Ecosystems[0]; e.Err != nil || e.Mode != ModeUnchanged {
		t.Fatalf("second sync of unchanged data: mode %s, fallback %q, err %v", e.Mode, e.Fallback, e.Err)
	}

	bucket := t.TempDir()
	writeBucket(t, bucket, map[string]map[string]string{"PyPI": {
		"GOOD-1.json":  rec("GOOD-1", "PyPI", "requests", ""),
		"NOMOD-1.json": `{"id": "NOMOD-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"}}]}`,
	}})
	st = openStore(t)
	doSync(t, st, "file://"+bucket, "PyPI")
	if e := doSync(t, st, "file://"+bucket, "PyPI").Ecosystems[0]; e.Mode != ModeUnchanged {
		t.Fatalf("sync after a malformed record: mode %s (%s)", e.Mode, e.Fallback)
	}
	// Upstream fixes the record: a newer modified time and its own file.
	fixed := rec("NOMOD-1", "PyPI", "requests", "")
	fixed = strings.Replace(fixed, "2024-01-01", "2024-03-01", 1)
	os.WriteFile(filepath.Join(bucket, "PyPI", "NOMOD-1.json"), []byte(fixed), 0o644)
	os.WriteFile(filepath.Join(bucket, "PyPI", "modified_id.csv"), []byte("2024-03-01T00:00:00Z,NOMOD-1\n2024-01-01T00:00:00Z,GOOD-1\n"), 0o644)
	e := doSync(t, st, "file://"+bucket, "PyPI").Ecosystems[0]
	if e.Err != nil || e.Mode != ModeIncremental || e.Added != 1 || e.Records != 2 {
		t.Fatalf("sync after the fix: %+v", e)
	}
	if skipped, err := st.SkippedIDs(context.Background(), "PyPI"); err != nil || len(skipped) != 0 {
		t.Errorf("fixed record still remembered as skipped: %v %v", skipped, err)
	}
}

// importInUse is a store that notes how many database connections were
// checked out when each import began.
type importInUse struct {
	*store.Store
	inUse []int
}

func (s *importInUse) BeginImport(ctx context.Context, part, source string) (*store.Import, error) {
	s.inUse = append(s.inUse, s.DB().Stats().InUse)
	return s.Store.BeginImport(ctx, part, source)
}

// A delta that falls back to all.zip (no per-record files) gives back the
// connection it held for the rows read ahead (store.ReadDeltaBase) before
// the import begins, instead of keeping it out of the pool until the
// import ends.
func TestFallbackReleasesTheDeltaBase(t *testing.T) {
	dir := corpus.Dir(t)
	st := &importInUse{Store: openStore(t)}
	doSync(t, st.Store, "file://"+dir, "Go")
	m, err := New(st, Options{BaseURL: "file://" + filepath.Join(dir, "delta"), Ecosystems: []string{"Go"}, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := m.Sync(context.Background())
	if e := rep.Ecosystems[0]; err != nil || e.Err != nil || e.Mode != ModeFull || !strings.Contains(e.Fallback, "per-record") {
		t.Fatalf("sync: %+v, %v", rep, err)
	}
	if len(st.inUse) != 1 || st.inUse[0] != 0 {
		t.Errorf("connections checked out as the fallback's import began: %v, want [0]", st.inUse)
	}
}

// TestRepeatedIDKeepsOneCopyWhole: an all.zip holding one ID twice (with
// other packages and aliases) imports one copy, document, packages and
// aliases alike, and reports the repeat.
func TestRepeatedIDKeepsOneCopyWhole(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "PyPI"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "PyPI", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, copyOf := range []string{"q", "r"} {
		w, err := zw.Create("DUP-1.json")
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(rec("DUP-1", "PyPI", copyOf, `,"aliases":["CVE-`+copyOf+`"]`)))
	}
	zw.Close()
	f.Close()
	os.WriteFile(filepath.Join(dir, "ecosystems.txt"), []byte("PyPI\n"), 0o644)
	st := openStore(t)
	e := doSync(t, st, "file://"+dir, "PyPI").Ecosystems[0]
	if e.Err != nil || e.Records != 1 || e.MalformedCount != 1 || !strings.Contains(fmt.Sprint(e.Malformed), "repeat an ID") {
		t.Fatalf("report %+v", e)
	}
	if p, err := st.Partition(context.Background(), "PyPI"); err != nil || p.Malformed != 1 {
		t.Fatalf("partition state %+v %v: the repeat not counted as malformed (mirror status)", p, err)
	}
	adv, err := st.AdvisoriesByID(context.Background(), "DUP-1")
	if err != nil || len(adv) != 1 {
		t.Fatalf("DUP-1: %v %v", adv, err)
	}
	kept := "q"
	if strings.Contains(string(adv[0].Data), `"name":"r"`) {
		kept = "r"
	}
	other := map[string]string{"q": "r", "r": "q"}[kept]
	if got := ids(t, st, "PyPI", kept); !slices.Equal(got, []string{"DUP-1"}) {
		t.Errorf("package %s of the copy kept finds %v", kept, got)
	}
	if got := ids(t, st, "PyPI", other); len(got) != 0 {
		t.Errorf("package %s of the copy left out finds %v", other, got)
	}
	for alias, want := range map[string]int{"CVE-" + kept: 1, "CVE-" + other: 0} {
		if got, err := st.AdvisoriesByID(context.Background(), alias); err != nil || len(got) != want {
			t.Errorf("alias %s finds %d records %v, want %d", alias, len(got), err, want)
		}
	}
}
