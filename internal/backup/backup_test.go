package backup

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vulngate/vulngate/internal/backup/archive"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// dump returns the rows of st's tables of the given classes, each row as
// engine-neutral JSON, sorted; mirror tables keep live generations only.
func dump(t testing.TB, st *store.Store, want ...Class) map[string][]string {
	t.Helper()
	ctx := context.Background()
	sn, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	tables, err := sn.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, tb := range tables {
		c, _ := classify(tb.Name)
		if !slices.Contains(want, c.Class) {
			continue
		}
		rows := []string{}
		err := sn.Rows(ctx, tb, tb.Columns, c.Class == Mirror && store.LiveGenerations(tb), func(vals []any) error {
			row := map[string]any{}
			for i, col := range tb.Columns {
				v, err := archive.Convert(archive.Kind(col.Kind), vals[i])
				if err != nil {
					return err
				}
				row[col.Name] = archive.EncodeValue(v)
			}
			b, err := json.Marshal(row)
			rows = append(rows, string(b))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(rows)
		out[tb.Name] = rows
	}
	return out
}

// count counts a table's rows with plain SQL.
func count(t testing.TB, st *store.Store, table string) int64 {
	t.Helper()
	var n int64
	if err := st.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func openTarget(t testing.TB, opts store.Options) *store.Store { return storetest.Open(t, opts) }

func sqliteTarget(t testing.TB) store.Options { return store.Options{DataDir: t.TempDir()} }
func pgTarget(t testing.TB) store.Options     { return store.Options{DSN: pgtest.DSN(t)} }

func backupFile(t testing.TB, st *store.Store, opts Options) (string, *Manifest) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vulngate.backup.zip")
	res, err := WriteFile(context.Background(), st, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	return path, res.Manifest
}

func restore(t testing.TB, file string, target store.Options) *store.Store {
	t.Helper()
	if _, err := Restore(context.Background(), file, target, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	return openTarget(t, target)
}

// checkCarried compares the user (and mirror) tables of two stores row by
// row, and checks the manifest's counts against plain SQL counts.
func checkCarried(t *testing.T, src, dst *store.Store, m *Manifest, classes ...Class) {
	t.Helper()
	want, got := dump(t, src, classes...), dump(t, dst, classes...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("restored tables differ (-source +restored):\n%s", diff)
	}
	for _, e := range m.Tables {
		if e.Class == User {
			if n := count(t, src, e.Name); n != e.Rows {
				t.Errorf("manifest: %s has %d rows, the source %d", e.Name, e.Rows, n)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name     string
		src      func(testing.TB) *store.Store
		to, back func(testing.TB) store.Options
	}{
		{"sqlite-sqlite", func(t testing.TB) *store.Store { return storetest.SQLite(t) }, sqliteTarget, nil},
		{"postgres-postgres", func(t testing.TB) *store.Store { return storetest.Postgres(t) }, pgTarget, nil},
		{"sqlite-postgres-sqlite", func(t testing.TB) *store.Store { return storetest.SQLite(t) }, pgTarget, sqliteTarget},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src(t)
			populate(t, src)
			file, m := backupFile(t, src, Options{Version: "test"})
			if !m.Advisories || m.Engine != string(src.Dialect()) {
				t.Fatalf("manifest: advisories %v engine %s", m.Advisories, m.Engine)
			}
			dst := restore(t, file, tc.to(t))
			checkCarried(t, src, dst, m, User, Mirror)
			checkLeftOut(t, dst)
			if tc.back == nil {
				return
			}
			file2, m2 := backupFile(t, dst, Options{Version: "test"})
			back := restore(t, file2, tc.back(t))
			checkCarried(t, src, back, m2, User, Mirror)
			checkLeftOut(t, back)
		})
	}
}

// checkLeftOut checks that caches and runtime state were not carried.
func checkLeftOut(t *testing.T, st *store.Store) {
	t.Helper()
	for name, c := range classes {
		if (c.Class == Cache || c.Class == Runtime) && !c.Seeded {
			if n := count(t, st, name); n != 0 {
				t.Errorf("%s (%s) has %d rows after a restore; want none", name, c.Class, n)
			}
		}
	}
}

// A restored store keeps working: new rows get fresh IDs.
func TestRestoredStoreTakesNewRows(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, src *store.Store) {
		populate(t, src)
		file, _ := backupFile(t, src, Options{})
		target := sqliteTarget(t)
		if src.Dialect() == store.Postgres {
			target = pgTarget(t)
		}
		dst := restore(t, file, target)
		ctx := context.Background()
		if dst.Dialect() == store.SQLite {
			// The restored file is laid out as a new database is.
			var pageSize, autoVacuum int
			if err := dst.DB().QueryRowContext(ctx, `SELECT page_size, auto_vacuum FROM pragma_page_size, pragma_auto_vacuum`).Scan(&pageSize, &autoVacuum); err != nil {
				t.Fatal(err)
			}
			if pageSize != store.PageSize || autoVacuum != 2 {
				t.Errorf("restored database: page size %d, auto_vacuum %d; want %d, 2 (incremental)", pageSize, autoVacuum, store.PageSize)
			}
		}
		id, err := dst.CreateUser(ctx, store.User{Username: "carol", Role: "viewer", PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if id <= 1 {
			t.Errorf("new user got id %d; want one after the restored users", id)
		}
		if _, err := dst.StartJobRun(ctx, "osv-mirror", "test", m0()); err != nil {
			t.Fatal(err)
		}
		im, err := dst.BeginImport(ctx, "OSV:Go", "OSV")
		if err != nil {
			t.Fatal(err)
		}
		im.Abort(ctx)
	})
}

func TestWithoutAdvisories(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, src *store.Store) {
		populate(t, src)
		file, m := backupFile(t, src, Options{WithoutAdvisories: true})
		if m.Advisories {
			t.Fatal("manifest says advisories are included")
		}
		left := map[string]bool{}
		for _, l := range m.LeftOut {
			left[l.Name] = true
			if l.Reason == "" {
				t.Errorf("%s left out without a reason", l.Name)
			}
		}
		for name, c := range classes {
			if _, in := m.Table(name); in == (c.Class != User) || left[name] == (c.Class == User) {
				t.Errorf("%s (%s): carried %v, left out %v", name, c.Class, in, left[name])
			}
		}
		if !strings.Contains(strings.Join(m.Notes, " "), "fetches them again") {
			t.Errorf("notes do not say advisories are mirrored again: %q", m.Notes)
		}
		dst := restore(t, file, sqliteTarget(t))
		checkCarried(t, src, dst, m, User)
		if n := count(t, dst, "advisory"); n != 0 {
			t.Errorf("%d advisories restored from a backup without them", n)
		}
		// The mirror starts afresh.
		ctx := context.Background()
		im, err := dst.BeginImport(ctx, "OSV:Go", "OSV")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := im.Commit(ctx, store.PartitionState{}); err != nil {
			t.Fatal(err)
		}
	})
}

// Every table of the schema must be classified (classes.go), and every
// classified table must exist.
func TestEveryTableClassified(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		sn, err := st.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer sn.Close()
		tables, err := sn.Tables(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, tb := range tables {
			seen[tb.Name] = true
			if _, ok := classify(tb.Name); !ok {
				t.Errorf("table %s is not classified: add it to internal/backup/classes.go (user data is carried by backups; mirror, cache and runtime tables are not) and, for user data, give it rows in fixture_test.go", tb.Name)
			}
		}
		for name := range classes {
			if !seen[name] {
				t.Errorf("classes.go lists %s, which the schema does not have", name)
			}
		}
	})
}

// The fixture gives every carried table rows, so that the round trip
// compares something in each.
func TestFixtureCoversUserTables(t *testing.T) {
	st := storetest.SQLite(t)
	populate(t, st)
	for name, c := range classes {
		if n := count(t, st, name); n == 0 {
			t.Errorf("the fixture leaves %s (%s) empty: give it rows in populate (fixture_test.go)", name, c.Class)
		}
	}
}

func TestRestoreRefusesNonEmptyTarget(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			src := storetest.SQLite(t)
			populate(t, src)
			file, _ := backupFile(t, src, Options{})
			target := sqliteTarget(t)
			if engine == "postgres" {
				target = pgTarget(t)
			}
			// A freshly created store is empty: restoring into it is fine.
			openTarget(t, target).Close()
			restore(t, file, target).Close()
			// Now it holds users and assessments.
			_, err := Restore(context.Background(), file, target, RestoreOptions{})
			var ne *store.NotEmptyError
			if !errors.As(err, &ne) || ne.Rows["app_user"] == 0 || !strings.Contains(err.Error(), "not empty") {
				t.Fatalf("restore into a used store: %v; want a not-empty error", err)
			}
			dst := openTarget(t, target)
			populateMore(t, dst)
			before := dump(t, dst, User)
			dst.Close()
			res, err := Restore(context.Background(), file, target, RestoreOptions{Force: true})
			if err != nil {
				t.Fatal(err)
			}
			if engine == "sqlite" && res.Kept == "" {
				t.Error("the replaced SQLite file was not kept")
			}
			after := openTarget(t, target)
			checkCarried(t, src, after, res.Manifest, User, Mirror)
			if cmp.Equal(before, dump(t, after, User)) {
				t.Error("forced restore left the target as it was")
			}
			leftovers(t, target)
		})
	}
}

// populateMore adds a row the backup does not have.
func populateMore(t testing.TB, st *store.Store) {
	if _, err := st.CreateUser(context.Background(), store.User{Username: "mallory", Role: "admin", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
}

// leftovers fails when a restore left scratch files or schemas behind.
func leftovers(t testing.TB, target store.Options) {
	t.Helper()
	if target.DSN == "" {
		ents, _ := os.ReadDir(target.DataDir)
		for _, e := range ents {
			if strings.Contains(e.Name(), ".restore-") {
				t.Errorf("scratch file left behind: %s", e.Name())
			}
		}
		return
	}
	st := openTarget(t, target)
	var n int
	if err := st.DB().QueryRow(`SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'vulngate_restore_%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d scratch schemas left behind", n)
	}
}

// A table this vulngate does not classify (a migration landed without
// its classification) is carried as user data, flagged in the manifest.
func TestUnclassifiedTableCarried(t *testing.T) {
	saved := classes["feed_decision"]
	delete(classes, "feed_decision")
	defer func() { classes["feed_decision"] = saved }()
	src := storetest.SQLite(t)
	populate(t, src)
	file, m := backupFile(t, src, Options{WithoutAdvisories: true})
	e, ok := m.Table("feed_decision")
	if !ok || !e.Unclassified || e.Class != User || e.Rows == 0 {
		t.Fatalf("unclassified table in the manifest: %+v", e)
	}
	dst := restore(t, file, sqliteTarget(t))
	if diff := cmp.Diff(dump(t, src, User)["feed_decision"], dump(t, dst, User)["feed_decision"]); diff != "" {
		t.Errorf("unclassified table not restored:\n%s", diff)
	}
}
