package cli

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

// TestMain lets tests run this test binary as the vulngate command, so a
// real process can be killed in the middle of an import.
func TestMain(m *testing.M) {
	if os.Getenv("VULNGATE_TEST_AS_CLI") == "1" {
		err := Execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vulngate:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(pgtest.Main(m))
}

// startUntil starts this test binary as the vulngate command with args
// and returns once a line of its standard error contains marker (so that
// it can be killed at that point).
func startUntil(t *testing.T, marker string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "VULNGATE_TEST_AS_CLI=1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), marker) {
				once = true
				close(seen)
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case <-seen:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the child never logged %q", marker)
	}
	return cmd
}

// writeSyntheticBucket writes a PyPI bucket of n generated records for
// packages synthetic-<i>, plus one record SYN-ALPHA for package "alpha".
func writeSyntheticBucket(t *testing.T, dir string, n int, modified string) {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "PyPI"), 0o755)
	os.WriteFile(filepath.Join(dir, "ecosystems.txt"), []byte("PyPI\n"), 0o644)
	f, err := os.Create(filepath.Join(dir, "PyPI", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	csv := &strings.Builder{}
	rec := func(id, name string) {
		w, _ := zw.Create(id + ".json")
		fmt.Fprintf(w, `{"id":%q,"modified":%q,"summary":"synthetic test record","affected":[{"package":{"ecosystem":"PyPI","name":%q},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0"}]}]}]}`, id, modified, name)
		fmt.Fprintf(csv, "%s,%s\n", modified, id)
	}
	rec("SYN-ALPHA", "alpha")
	for i := range n {
		rec(fmt.Sprintf("SYN-%07d", i), fmt.Sprintf("synthetic-%d", i))
	}
	zw.Close()
	f.Close()
	os.WriteFile(filepath.Join(dir, "PyPI", "modified_id.csv"), []byte(csv.String()), 0o644)
}

// TestMirrorKilledMidImportKeepsPreviousData SIGKILLs "vulngate mirror" in
// the middle of a full import, on SQLite and on PostgreSQL: the previous
// generation stays queryable, and the next run completes and collects what
// the killed run wrote.
func TestMirrorKilledMidImportKeepsPreviousData(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a large synthetic bucket")
	}
	v1, v2 := t.TempDir(), t.TempDir()
	writeSyntheticBucket(t, v1, 10, "2024-01-01T00:00:00Z")
	writeSyntheticBucket(t, v2, 150000, "2024-06-01T00:00:00Z")
	t.Run("sqlite", func(t *testing.T) {
		data := t.TempDir()
		killMidImport(t, v1, v2, []string{"--data-dir", data}, store.Options{DataDir: data})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn, data := pgtest.DSN(t), t.TempDir()
		killMidImport(t, v1, v2, []string{"--database-url", dsn, "--data-dir", data}, store.Options{DSN: dsn})
	})
}

func killMidImport(t *testing.T, v1, v2 string, storeArgs []string, opts store.Options) {
	cli := func(args ...string) (string, string, error) {
		return run(t, append(append([]string{}, storeArgs...), args...)...)
	}
	if _, errOut, err := cli("--log-level", "warn", "mirror", "--base-url", "file://"+v1, "--ecosystems", "PyPI"); err != nil {
		t.Fatalf("first mirror: %v %s", err, errOut)
	}

	cmd := startUntil(t, "import started", append(append([]string{}, storeArgs...), "--log-format", "json", "mirror", "--base-url", "file://"+v2, "--ecosystems", "PyPI")...)
	time.Sleep(700 * time.Millisecond)
	cmd.Process.Kill() // SIGKILL
	if err := cmd.Wait(); err == nil {
		t.Fatal("the import finished before it could be killed; make the bucket larger")
	}

	scan := func(purls ...string) scanDoc {
		t.Helper()
		out, errOut, err := cli(append([]string{"--log-level", "warn", "scan", "--format", "json"}, purls...)...)
		var doc scanDoc
		if jerr := json.Unmarshal([]byte(out), &doc); jerr != nil {
			t.Fatalf("scan %v: %v %v %s", purls, err, jerr, errOut)
		}
		return doc
	}
	count := func() (store.PartitionState, int) {
		t.Helper()
		st, err := store.Open(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		p, err := st.Partition(context.Background(), "PyPI")
		if err != nil {
			t.Fatal(err)
		}
		var rows int
		st.DB().QueryRow(`SELECT COUNT(*) FROM advisory`).Scan(&rows)
		return p, rows
	}

	// The previous generation is intact and queryable.
	doc := scan("pkg:pypi/alpha@1.0", "pkg:pypi/synthetic-5000@1.0")
	if len(doc.Components[0].Findings) != 1 || len(doc.Components[1].Findings) != 0 {
		t.Fatalf("after the kill: alpha findings %d, synthetic-5000 findings %d", len(doc.Components[0].Findings), len(doc.Components[1].Findings))
	}
	p, rows := count()
	if p.Records != 11 {
		t.Fatalf("partition after the kill: %+v", p)
	}
	t.Logf("the killed import left %d rows", rows-11)

	// The next run completes and removes what the killed run left behind.
	if _, errOut, err := cli("--log-level", "warn", "mirror", "--base-url", "file://"+v2, "--ecosystems", "PyPI"); err != nil {
		t.Fatalf("mirror after kill: %v %s", err, errOut)
	}
	if p, rows := count(); p.Records != 150001 || rows != 150001 {
		t.Fatalf("after recovery: partition records %d, advisory rows %d, want 150001", p.Records, rows)
	}
	if doc := scan("pkg:pypi/synthetic-5000@1.0"); len(doc.Components[0].Findings) != 1 {
		t.Fatal("new data not queryable")
	}
}
