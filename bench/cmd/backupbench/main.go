// Command backupbench measures vulngate's backup, restore and engine
// migration on the shared corpus mirror plus 10,000 assessments, and
// compares them in the same run with raw limits: a plain copy of the
// SQLite file for the embedded engine, pg_dump/pg_restore (custom format)
// for PostgreSQL. Each operation is a separate run of the vulngate binary;
// min and median of -runs are reported with the file sizes and the load
// average. It writes nothing in the repository.
//
//	go run ./bench/cmd/backupbench -postgres 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
//
// Without -postgres only the SQLite figures are measured.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/vulngate/vulngate/bench/internal/runstats"
	"github.com/vulngate/vulngate/internal/store"
)

type row struct {
	op, note string
	times    []time.Duration
	size     int64
	ratioTo  string // op of the raw limit
}

var (
	corpusDir   = flag.String("corpus", "../shared/osv-corpus", "corpus in the OSV bucket layout")
	work        = flag.String("work", "", "work directory (default: a new temporary one)")
	runs        = flag.Int("runs", 3, "timed runs per operation")
	pgAdmin     = flag.String("postgres", "", "PostgreSQL URL of a database to connect to for creating scratch databases (empty: SQLite only)")
	binary      = flag.String("vulngate", "", "prebuilt vulngate binary (default: build ./cmd/vulngate)")
	assessments = flag.Int("assessments", 10000, "assessments added to the mirrored store")
)

func main() {
	flag.Parse()
	log.SetFlags(0)
	ctx := context.Background()
	if *work == "" {
		d, err := os.MkdirTemp("", "vg-backupbench-")
		must(err)
		*work = d
	}
	corpus, err := filepath.Abs(*corpusDir)
	must(err)
	bin := *binary
	if bin == "" {
		bin = filepath.Join(*work, "vulngate")
		run("build", "env", "CGO_ENABLED=0", "go", "build", "-o", bin, "./cmd/vulngate") // as `make build` does
	}
	load0 := runstats.LoadAvg(3)

	src := filepath.Join(*work, "src")
	ecos := ecosystems(corpus)
	t := timed(func() {
		run("mirror", bin, "--data-dir", src, "--log-level", "warn", "mirror", "--base-url", "file://"+corpus, "--ecosystems", strings.Join(ecos, ","))
	})
	log.Printf("mirrored %d ecosystems in %s", len(ecos), t.Round(time.Millisecond))
	addAssessments(ctx, src, *assessments)
	counts := describe(ctx, src)
	log.Printf("source: %s", counts)

	var rows []*row
	measure := func(op, note, ratioTo string, prep func(i int) []string, after func(i int) int64) *row {
		r := &row{op: op, note: note, ratioTo: ratioTo}
		for i := range *runs {
			args := prep(i)
			r.times = append(r.times, timed(func() { run(op, args[0], args[1:]...) }))
			if after != nil {
				r.size = after(i)
			}
		}
		log.Printf("%s: %v", op, r.times)
		rows = append(rows, r)
		return r
	}
	out := func(name string) string { return filepath.Join(*work, "out", name) }
	must(os.MkdirAll(filepath.Join(*work, "out"), 0o700))
	dbFile := filepath.Join(src, store.DBFile)
	checkpoint(dbFile)

	measure("raw copy of vulngate.db", "file copy + fsync (lower bound for a SQLite backup)", "",
		func(i int) []string { return []string{"cp", dbFile, out(fmt.Sprintf("copy-%d.db", i))} },
		func(i int) int64 { return size(out(fmt.Sprintf("copy-%d.db", i))) })
	measure("backup (SQLite, with advisories)", "", "raw copy of vulngate.db",
		func(i int) []string {
			return []string{bin, "--data-dir", src, "--log-level", "warn", "backup", out(fmt.Sprintf("full-%d.zip", i))}
		},
		func(i int) int64 { return size(out(fmt.Sprintf("full-%d.zip", i))) })
	measure("backup (SQLite, --without-advisories)", "", "raw copy of vulngate.db",
		func(i int) []string {
			return []string{bin, "--data-dir", src, "--log-level", "warn", "backup", "--without-advisories", out(fmt.Sprintf("small-%d.zip", i))}
		},
		func(i int) int64 { return size(out(fmt.Sprintf("small-%d.zip", i))) })
	measure("restore into SQLite (with advisories)", "", "raw copy of vulngate.db",
		func(i int) []string {
			return []string{bin, "--data-dir", filepath.Join(*work, fmt.Sprintf("r-full-%d", i)), "--log-level", "warn", "restore", out("full-0.zip")}
		},
		func(i int) int64 { return size(filepath.Join(*work, fmt.Sprintf("r-full-%d", i), store.DBFile)) })
	measure("restore into SQLite (without advisories)", "", "raw copy of vulngate.db",
		func(i int) []string {
			return []string{bin, "--data-dir", filepath.Join(*work, fmt.Sprintf("r-small-%d", i)), "--log-level", "warn", "restore", out("small-0.zip")}
		}, nil)

	if *pgAdmin != "" {
		admin, err := sql.Open("pgx", *pgAdmin)
		must(err)
		defer admin.Close()
		n := 0
		fresh := func() string {
			n++
			name := fmt.Sprintf("vg_backupbench_%d_%d", os.Getpid(), n)
			_, err := admin.ExecContext(ctx, "CREATE DATABASE "+name)
			must(err)
			return withDB(*pgAdmin, name)
		}
		defer func() {
			for i := 1; i <= n; i++ {
				admin.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS vg_backupbench_%d_%d WITH (FORCE)", os.Getpid(), i))
			}
		}()
		pgBin := pgBinDir()
		var restored []string
		measure("restore into PostgreSQL (with advisories)", "", "pg_restore (custom format)",
			func(i int) []string {
				restored = append(restored, fresh())
				return []string{bin, "--database-url", restored[i], "--data-dir", filepath.Join(*work, "pgdata"), "--log-level", "warn", "restore", out("full-0.zip")}
			}, nil)
		pgSrc := restored[0]
		measure("backup (PostgreSQL, with advisories)", "", "pg_dump (custom format)",
			func(i int) []string {
				return []string{bin, "--database-url", pgSrc, "--data-dir", filepath.Join(*work, "pgdata"), "--log-level", "warn", "backup", out(fmt.Sprintf("pg-%d.zip", i))}
			},
			func(i int) int64 { return size(out(fmt.Sprintf("pg-%d.zip", i))) })
		measure("pg_dump (custom format)", "peer: PostgreSQL's own logical dump of the same database", "",
			func(i int) []string {
				return []string{filepath.Join(pgBin, "pg_dump"), "-Fc", "-f", out(fmt.Sprintf("pg-%d.dump", i)), pgSrc}
			},
			func(i int) int64 { return size(out(fmt.Sprintf("pg-%d.dump", i))) })
		measure("pg_restore (custom format)", "peer: into an empty database", "",
			func(i int) []string {
				return []string{filepath.Join(pgBin, "pg_restore"), "--no-owner", "-d", fresh(), out("pg-0.dump")}
			}, nil)
		measure("migrate SQLite → PostgreSQL", "backup + restore in one step", "pg_restore (custom format)",
			func(i int) []string {
				return []string{bin, "--data-dir", src, "--log-level", "warn", "migrate", "--to", fresh()}
			}, nil)
	}
	report(rows, counts, load0, runstats.LoadAvg(3))
}

func report(rows []*row, counts, load0, load1 string) {
	byOp := map[string]*row{}
	for _, r := range rows {
		byOp[r.op] = r
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Store: %s. %d runs each; load average before %s, after %s.\n\n", counts, *runs, load0, load1)
	fmt.Fprintln(&b, "| operation | min | median | file | vs raw limit (median) | note |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---|")
	for _, r := range rows {
		ratio := ""
		if lim, ok := byOp[r.ratioTo]; ok {
			ratio = fmt.Sprintf("%.1f× %s", float64(runstats.Median(r.times))/float64(runstats.Median(lim.times)), r.ratioTo)
		}
		sz := ""
		if r.size > 0 {
			sz = fmt.Sprintf("%.1f MiB", float64(r.size)/(1<<20))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.op, minD(r.times).Round(time.Millisecond), runstats.Median(r.times).Round(time.Millisecond), sz, ratio, r.note)
	}
	fmt.Print(b.String())
	os.WriteFile(filepath.Join(*work, "report.md"), []byte(b.String()), 0o644)
}

// addAssessments records n assessments of mirrored advisories, in batches
// as a bulk assessment would.
func addAssessments(ctx context.Context, dir string, n int) {
	st, err := store.Open(ctx, store.Options{DataDir: dir})
	must(err)
	defer st.Close()
	rows, err := st.DB().QueryContext(ctx, `SELECT DISTINCT id FROM advisory ORDER BY id LIMIT ?`, n)
	must(err)
	var ids []string
	for rows.Next() {
		var id string
		must(rows.Scan(&id))
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) < n {
		log.Fatalf("only %d advisories to assess", len(ids))
	}
	now := time.Now().UTC()
	types := []string{"Ignore", "Caution", "Blocked"}
	for start := 0; start < n; start += 500 {
		var as []store.Assessment
		for i := start; i < min(n, start+500); i++ {
			as = append(as, store.Assessment{VulnID: ids[i], Scope: "global", Type: types[i%3], Comment: fmt.Sprintf("reviewed against our usage (%d)", i), By: "bench", At: now})
		}
		must(st.SetAssessments(ctx, as, "set", "bench", now))
	}
}

func describe(ctx context.Context, dir string) string {
	st, err := store.Open(ctx, store.Options{DataDir: dir})
	must(err)
	defer st.Close()
	var adv, asm, hist int64
	db := st.DB()
	must(db.QueryRowContext(ctx, `SELECT count(*) FROM advisory`).Scan(&adv))
	must(db.QueryRowContext(ctx, `SELECT count(*) FROM assessment`).Scan(&asm))
	must(db.QueryRowContext(ctx, `SELECT count(*) FROM assessment_history`).Scan(&hist))
	return fmt.Sprintf("%d advisories (whole corpus), %d assessments, %d history rows, vulngate.db %.1f MiB", adv, asm, hist, float64(size(filepath.Join(dir, store.DBFile)))/(1<<20))
}

// checkpoint folds the WAL into the file, so that a raw copy is complete.
func checkpoint(path string) {
	db, err := sql.Open("sqlite", "file:"+path)
	must(err)
	defer db.Close()
	_, err = db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	must(err)
}

func ecosystems(corpus string) []string {
	data, err := os.ReadFile(filepath.Join(corpus, "ecosystems.txt"))
	must(err)
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if _, err := os.Stat(filepath.Join(corpus, l, "all.zip")); err == nil {
				out = append(out, l)
			}
		}
	}
	return out
}

func run(what, name string, args ...string) {
	cmd := exec.Command(name, args...)
	var errb strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &errb
	if name == "cp" {
		// cp does not fsync; the copy is synced after, inside the timing.
		cmd = exec.Command("sh", "-c", `cp "$1" "$2" && sync "$2"`, "sh", args[0], args[1])
		cmd.Stderr = &errb
	}
	if err := cmd.Run(); err != nil {
		log.Fatalf("%s: %v\n%s", what, err, errb.String())
	}
}

func timed(fn func()) time.Duration {
	t := time.Now()
	fn()
	return time.Since(t)
}

func minD(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds {
		m = min(m, d)
	}
	return m
}

func size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func pgBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	if len(dirs) == 0 {
		log.Fatal("pg_dump not found (install postgresql)")
	}
	return dirs[len(dirs)-1]
}

// withDB replaces the database name of a PostgreSQL URL.
func withDB(dsn, name string) string {
	i := strings.LastIndex(dsn, "/")
	q := ""
	if j := strings.Index(dsn[i:], "?"); j >= 0 {
		q = dsn[i+j:]
	}
	return dsn[:i+1] + name + q
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
