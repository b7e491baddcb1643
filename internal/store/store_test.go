package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// engines runs fn against a fresh SQLite store and a fresh PostgreSQL
// store, so the whole suite covers both engines.
func engines(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := Open(context.Background(), Options{DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := Open(context.Background(), Options{DSN: pgtest.DSN(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		fn(t, s)
	})
}

// openSQLite opens a fresh SQLite store, closed when the test ends.
func openSQLite(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func record(id string, mod time.Time, pkgs ...string) Record {
	r := Record{ID: id, Modified: mod, Aliases: []string{"CVE-" + id}, Data: []byte(fmt.Sprintf(`{"id":%q}`, id))}
	for _, p := range pkgs {
		r.Packages = append(r.Packages, PackageKey{Ecosystem: "PyPI", Name: p})
	}
	return r
}

func ids(t *testing.T, s *Store, name string) []string {
	t.Helper()
	adv, err := s.AdvisoriesFor(context.Background(), "PyPI", name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range adv {
		out = append(out, a.ID)
	}
	return out
}

func importAll(t *testing.T, s *Store, part string, recs ...Record) {
	t.Helper()
	ctx := context.Background()
	im, err := s.BeginImport(ctx, part, "OSV")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := im.Add(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := im.Commit(ctx, PartitionState{LastSync: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func TestImportGenerations(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		importAll(t, s, "PyPI", record("A", t0, "requests"), record("B", t0, "requests", "urllib3"))
		if got := ids(t, s, "requests"); !slices.Equal(got, []string{"A", "B"}) {
			t.Fatalf("requests = %v", got)
		}
		// A second import replaces the first only when committed.
		im, err := s.BeginImport(ctx, "PyPI", "OSV")
		if err != nil {
			t.Fatal(err)
		}
		for i := range importBatch + 5 { // forces a flushed batch
			im.Add(ctx, record(fmt.Sprintf("N%05d", i), t0, "requests"))
		}
		if got := ids(t, s, "requests"); !slices.Equal(got, []string{"A", "B"}) {
			t.Fatalf("uncommitted import visible: %d records", len(got))
		}
		if err := im.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		s.db.QueryRow(`SELECT COUNT(*) FROM advisory`).Scan(&n)
		if n != 2 {
			t.Fatalf("%d advisory rows after abort, want 2", n)
		}
		importAll(t, s, "PyPI", record("C", t0, "requests"))
		if got := ids(t, s, "requests"); !slices.Equal(got, []string{"C"}) {
			t.Fatalf("after re-import: %v", got)
		}
		if got := ids(t, s, "urllib3"); len(got) != 0 {
			t.Fatalf("old generation still indexed: %v", got)
		}
		s.db.QueryRow(`SELECT COUNT(*) FROM advisory_package`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d index rows, want 1 (old generation deleted)", n)
		}
		adv, err := s.AdvisoriesByID(ctx, "CVE-C")
		if err != nil || len(adv) != 1 || adv[0].ID != "C" || string(adv[0].Data) != `{"id":"C"}` {
			t.Fatalf("by alias: %+v %v", adv, err)
		}
	})
}

func TestDeltaAndPurge(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		importAll(t, s, "PyPI", record("A", t0, "requests"), record("B", t0, "requests"))
		wd := record("B", t0.Add(time.Hour), "requests")
		wd.Withdrawn = true
		st, err := s.ApplyDelta(ctx, "PyPI", Delta{Upserts: []Record{wd, record("D", t0, "flask")}, Deletes: []string{"A"}}, PartitionState{Watermark: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if st.Records != 2 || st.Withdrawn != 1 {
			t.Fatalf("state after delta: %+v", st)
		}
		// The counts follow the rows: a record withdrawn again, one deleted
		// twice in the same delta, one deleted that the partition never had.
		st, err = s.ApplyDelta(ctx, "PyPI", Delta{Upserts: []Record{wd}, Deletes: []string{"D", "D", "Z"}}, PartitionState{Watermark: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var n, w int
		if err := s.db.QueryRow(s.Rebind(`SELECT COUNT(*), COALESCE(SUM(a.withdrawn), 0) FROM advisory a JOIN partition_state p ON p.name = a.part AND p.generation = a.generation WHERE a.part = ?`), "PyPI").Scan(&n, &w); err != nil {
			t.Fatal(err)
		}
		if st.Records != 1 || st.Withdrawn != 1 || n != 1 || w != 1 {
			t.Fatalf("state after second delta: %+v, rows %d withdrawn %d", st, n, w)
		}
		if p, err := s.Partition(ctx, "PyPI"); err != nil || p.Records != 1 || p.Withdrawn != 1 {
			t.Fatalf("stored state %+v %v", p, err)
		}
		st, err = s.ApplyDelta(ctx, "PyPI", Delta{Upserts: []Record{record("D", t0, "flask")}}, PartitionState{Watermark: t0.Add(time.Hour)})
		if err != nil || st.Records != 2 || st.Withdrawn != 1 {
			t.Fatalf("state after third delta: %+v %v", st, err)
		}
		if _, err := s.ApplyDelta(ctx, "PyPI", Delta{Deletes: []string{"D"}}, PartitionState{Generation: st.Generation + 1}); err == nil {
			t.Fatal("a delta computed against another generation was applied")
		}
		if got := ids(t, s, "requests"); len(got) != 0 {
			t.Fatalf("withdrawn or deleted records returned: %v", got)
		}
		if got := ids(t, s, "flask"); !slices.Equal(got, []string{"D"}) {
			t.Fatalf("flask = %v", got)
		}
		vers, _ := s.RecordVersions(ctx, "PyPI")
		if !vers["B"].Equal(t0.Add(time.Hour)) || len(vers) != 2 {
			t.Fatalf("versions %v", vers)
		}
		p, err := s.Partition(ctx, "PyPI")
		if err != nil || !p.Watermark.Equal(t0.Add(time.Hour)) {
			t.Fatalf("partition %+v %v", p, err)
		}
		if err := s.Purge(ctx, "PyPI"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Partition(ctx, "PyPI"); !errors.Is(err, ErrNoPartition) {
			t.Fatalf("after purge: %v", err)
		}
		if n, _ := s.CountAdvisories(ctx); n != 0 {
			t.Fatalf("%d advisories after purge", n)
		}
	})
}

func TestGarbageOfDeadImporter(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		importAll(t, s, "PyPI", record("A", t0, "requests"))
		im, _ := s.BeginImport(ctx, "PyPI", "OSV")
		for i := range importBatch {
			im.Add(ctx, record(fmt.Sprintf("N%05d", i), t0, "x"))
		}
		if err := im.Flush(ctx); err != nil { // the batch is written in the background
			t.Fatal(err)
		}
		// A live importer's rows survive collection.
		if err := s.CollectGarbage(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		s.db.QueryRow(`SELECT COUNT(*) FROM advisory`).Scan(&n)
		if n != importBatch+1 {
			t.Fatalf("%d rows: a live import was collected", n)
		}
		// Pretend the importer's process died: its heartbeat is old.
		s.db.Exec(s.Rebind(`UPDATE pending_generation SET heartbeat = ?`), fmtTime(time.Now().Add(-time.Hour)))
		if err := s.CollectGarbage(ctx); err != nil {
			t.Fatal(err)
		}
		s.db.QueryRow(`SELECT COUNT(*) FROM advisory`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d rows after collecting a dead import, want 1", n)
		}
		// Same for an importer on this host whose process is gone.
		im, _ = s.BeginImport(ctx, "PyPI", "OSV")
		im.Add(ctx, record("Z", t0, "x"))
		im.Flush(ctx)
		host, _ := os.Hostname()
		s.db.Exec(s.Rebind(`UPDATE pending_generation SET owner = ?`), host+":999999999")
		s.CollectGarbage(ctx)
		s.db.QueryRow(`SELECT COUNT(*) FROM advisory`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d rows after collecting an import of a dead local process, want 1", n)
		}
		if got := ids(t, s, "requests"); !slices.Equal(got, []string{"A"}) {
			t.Fatalf("live data damaged: %v", got)
		}
	})
}

func TestRebind(t *testing.T) {
	if got := rebind(Postgres, "a = ? AND b = ?"); got != "a = $1 AND b = $2" {
		t.Fatal(got)
	}
	if got := rebind(SQLite, "a = ?"); got != "a = ?" {
		t.Fatal(got)
	}
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@h/db":   "postgres://u:xxxxx@h/db",
		"host=h password=secret u=x": "host=h password=xxxxx u=x",
	} {
		if got := redactDSN(in); got != want {
			t.Errorf("redactDSN(%q) = %q", in, got)
		}
	}
}

func TestRecordIDsWithSeparatorInAnID(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		sorted := func(ids []string, err error) []string {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			return slices.Sorted(slices.Values(ids))
		}
		if got := sorted(s.RecordIDs(ctx, "PyPI")); len(got) != 0 {
			t.Fatalf("no partition: %q", got)
		}
		importAll(t, s, "PyPI", record("A", t0, "requests"), record("B\nC", t0, "requests"), record("D", t0, "flask"))
		if got, want := sorted(s.RecordIDs(ctx, "PyPI")), []string{"A", "B\nC", "D"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		if _, err := s.ApplyDelta(ctx, "PyPI", Delta{Deletes: []string{"B\nC"}}, PartitionState{}); err != nil {
			t.Fatal(err)
		}
		if got := sorted(s.RecordIDs(ctx, "PyPI")); !slices.Equal(got, []string{"A", "D"}) {
			t.Fatalf("after delete: %q", got)
		}
	})
}

// TestDeltaReplacesRecords covers both ways a delta replaces a stored
// record: in place when its package keys and aliases stay, rewritten with
// its index rows when they change.
func TestDeltaReplacesRecords(t *testing.T) {
	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		importAll(t, s, "PyPI", record("A", t0, "requests"), record("B", t0, "requests", "flask"))
		byAlias := func(alias string) []string {
			adv, err := s.AdvisoriesByID(ctx, alias)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, a := range adv {
				out = append(out, a.ID+"="+string(a.Data))
			}
			return out
		}
		// Same keys and aliases, new text: in place.
		a := record("A", t0.Add(time.Hour), "requests")
		a.Data = []byte(`{"id":"A","summary":"new"}`)
		// New package keys and a new alias: rewritten.
		b := record("B", t0.Add(time.Hour), "django")
		b.Aliases = append(b.Aliases, "GHSA-B")
		st, err := s.ApplyDelta(ctx, "PyPI", Delta{Upserts: []Record{a, b}}, PartitionState{})
		if err != nil || st.Records != 2 {
			t.Fatalf("%+v %v", st, err)
		}
		if got := ids(t, s, "requests"); !slices.Equal(got, []string{"A"}) {
			t.Fatalf("requests = %v", got)
		}
		if got := ids(t, s, "flask"); len(got) != 0 {
			t.Fatalf("flask = %v", got)
		}
		if got := ids(t, s, "django"); !slices.Equal(got, []string{"B"}) {
			t.Fatalf("django = %v", got)
		}
		if got := byAlias("CVE-A"); !slices.Equal(got, []string{`A={"id":"A","summary":"new"}`}) {
			t.Fatalf("CVE-A = %v", got)
		}
		if got := byAlias("GHSA-B"); !slices.Equal(got, []string{`B={"id":"B"}`}) {
			t.Fatalf("GHSA-B = %v", got)
		}
		vers, _ := s.RecordVersions(ctx, "PyPI")
		if !vers["A"].Equal(t0.Add(time.Hour)) || !vers["B"].Equal(t0.Add(time.Hour)) {
			t.Fatalf("versions %v", vers)
		}
		// An alias dropped: rewritten, the old alias row goes.
		b.Aliases = []string{"GHSA-B"}
		if _, err := s.ApplyDelta(ctx, "PyPI", Delta{Upserts: []Record{b}}, PartitionState{}); err != nil {
			t.Fatal(err)
		}
		if got := byAlias("CVE-B"); len(got) != 0 {
			t.Fatalf("CVE-B = %v", got)
		}
		// The journal names the keys of both records.
		changes, err := s.PackageChanges(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, c := range changes {
			seen[c.Key.Name] = true
		}
		for _, name := range []string{"requests", "flask", "django"} {
			if !seen[name] {
				t.Fatalf("journal lacks %s: %+v", name, changes)
			}
		}
	})
}
