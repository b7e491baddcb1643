package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
)

// TestMirrorKilledMidImportPostgres is TestMirrorKilledMidImportKeepsPreviousData
// on PostgreSQL: "vulngate mirror" SIGKILLed in the middle of a full import
// leaves the previous generation queryable, and the next run completes and
// collects what the killed run wrote.
func TestMirrorKilledMidImportPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a large synthetic bucket")
	}
	dsn := pgtest.DSN(t)
	data := t.TempDir()
	v1, v2 := t.TempDir(), t.TempDir()
	writeSyntheticBucket(t, v1, 10, "2024-01-01T00:00:00Z")
	writeSyntheticBucket(t, v2, 150000, "2024-06-01T00:00:00Z")
	pg := []string{"--database-url", dsn, "--data-dir", data}
	if _, errOut, err := run(t, append(pg, "--log-level", "warn", "mirror", "--base-url", "file://"+v1, "--ecosystems", "PyPI")...); err != nil {
		t.Fatalf("first mirror: %v %s", err, errOut)
	}

	cmd := exec.Command(os.Args[0], append(pg, "--log-format", "json", "mirror", "--base-url", "file://"+v2, "--ecosystems", "PyPI")...)
	cmd.Env = append(os.Environ(), "VULNGATE_TEST_AS_CLI=1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "import started") {
				once = true
				close(started)
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case <-started:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child never started importing")
	}
	time.Sleep(700 * time.Millisecond)
	cmd.Process.Kill() // SIGKILL
	if err := cmd.Wait(); err == nil {
		t.Fatal("the import finished before it could be killed; make the bucket larger")
	}

	scan := func(purls ...string) scanDoc {
		t.Helper()
		out, errOut, err := run(t, append(append(pg, "--log-level", "warn", "scan", "--format", "json"), purls...)...)
		var doc scanDoc
		if jerr := json.Unmarshal([]byte(out), &doc); jerr != nil {
			t.Fatalf("scan %v: %v %v %s", purls, err, jerr, errOut)
		}
		return doc
	}
	doc := scan("pkg:pypi/alpha@1.0", "pkg:pypi/synthetic-5000@1.0")
	if len(doc.Components[0].Findings) != 1 || len(doc.Components[1].Findings) != 0 {
		t.Fatalf("after the kill: alpha findings %d, synthetic-5000 findings %d", len(doc.Components[0].Findings), len(doc.Components[1].Findings))
	}
	st, err := store.Open(context.Background(), store.Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.Partition(context.Background(), "PyPI")
	var rows int
	st.DB().QueryRow(`SELECT COUNT(*) FROM advisory`).Scan(&rows)
	st.Close()
	if err != nil || p.Records != 11 {
		t.Fatalf("partition after the kill: %+v %v", p, err)
	}
	t.Logf("the killed import left %d rows", rows-11)

	if _, errOut, err := run(t, append(pg, "--log-level", "warn", "mirror", "--base-url", "file://"+v2, "--ecosystems", "PyPI")...); err != nil {
		t.Fatalf("mirror after kill: %v %s", err, errOut)
	}
	st, _ = store.Open(context.Background(), store.Options{DSN: dsn})
	defer st.Close()
	p, _ = st.Partition(context.Background(), "PyPI")
	st.DB().QueryRow(`SELECT COUNT(*) FROM advisory`).Scan(&rows)
	if p.Records != 150001 || rows != 150001 {
		t.Fatalf("after recovery: partition records %d, advisory rows %d, want 150001", p.Records, rows)
	}
	if doc := scan("pkg:pypi/synthetic-5000@1.0"); len(doc.Components[0].Findings) != 1 {
		t.Fatal("new data not queryable")
	}
}
