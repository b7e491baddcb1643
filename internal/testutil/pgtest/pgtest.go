// Package pgtest gives tests a real PostgreSQL database on loopback.
//
// With $VULNGATE_TEST_POSTGRES_DSN set, that server is used. Otherwise the
// first test that asks starts a private server from the Debian postgresql
// package's binaries (initdb and pg_ctl, run as the postgres user when the
// tests run as root) in a temporary directory, listening on 127.0.0.1 on a
// free port; it is stopped by Main when the test binary exits. Each call of
// DSN creates a fresh database. When no server can be had the test is
// skipped loudly, unless $VULNGATE_REQUIRE_POSTGRES=1 (as in CI), where it
// fails.
//
// It is test support only and is never linked into the binary.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

var (
	once     sync.Once
	adminDSN string
	startErr error
	dataDir  string
	pgCtl    string
	counter  atomic.Int64
)

// Main runs the tests and stops a server this package started.
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the private server, if one was started.
func Stop() {
	if dataDir == "" {
		return
	}
	runAsPostgres(pgCtl, "-D", dataDir, "-m", "immediate", "-w", "stop").Run()
	os.RemoveAll(filepath.Dir(dataDir))
	dataDir = ""
}

// DSN returns a connection string for a new, empty database.
func DSN(t testing.TB) string {
	t.Helper()
	once.Do(start)
	if startErr != nil {
		if os.Getenv("VULNGATE_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL required but unavailable: %v", startErr)
		}
		t.Skipf("SKIPPING: no PostgreSQL available (%v); set VULNGATE_TEST_POSTGRES_DSN or install the postgresql package", startErr)
	}
	name := fmt.Sprintf("vg_%d_%d", os.Getpid(), counter.Add(1))
	db, err := sql.Open("pgx", adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", adminDSN)
		if err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	return withDatabase(adminDSN, name)
}

func withDatabase(dsn, name string) string {
	// adminDSN is always a URL ending in /postgres here or user supplied.
	u := dsn
	if i := lastSlash(u); i >= 0 {
		q := ""
		if j := indexByte(u[i:], '?'); j >= 0 {
			q = u[i+j:]
		}
		return u[:i+1] + name + q
	}
	return dsn + " dbname=" + name
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			if i > 0 && s[i-1] == '/' {
				return -1
			}
			return i
		}
	}
	return -1
}

func indexByte(s string, c byte) int {
	for i := range len(s) {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func start() {
	if dsn := os.Getenv("VULNGATE_TEST_POSTGRES_DSN"); dsn != "" {
		adminDSN = dsn
		return
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			bins = []string{p}
		}
	}
	if len(bins) == 0 {
		startErr = errors.New("initdb not found")
		return
	}
	sort.Strings(bins)
	bin := filepath.Dir(bins[len(bins)-1])
	pgCtl = filepath.Join(bin, "pg_ctl")
	root, err := os.MkdirTemp("", "vulngate-pg-")
	if err != nil {
		startErr = err
		return
	}
	dir := filepath.Join(root, "data")
	if err := chownToPostgres(root); err != nil {
		startErr = err
		return
	}
	if out, err := runAsPostgres(filepath.Join(bin, "initdb"), "-D", dir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		startErr = fmt.Errorf("initdb: %v: %s", err, out)
		return
	}
	port, err := freePort()
	if err != nil {
		startErr = err
		return
	}
	opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", port, root)
	if out, err := runAsPostgres(pgCtl, "-D", dir, "-o", opts, "-l", filepath.Join(root, "log"), "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(root, "log"))
		startErr = fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
		return
	}
	dataDir = dir
	adminDSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, _ := sql.Open("pgx", adminDSN)
	defer db.Close()
	for ctx.Err() == nil {
		if db.PingContext(ctx) == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	startErr = errors.New("server did not accept connections")
}

// Port returns the private server's port (for tests that restart it).
func Port() int {
	u := adminDSN
	i := indexByte(u, '@')
	if i < 0 {
		return 0
	}
	rest := u[i+1:]
	j := indexByte(rest, ':')
	k := indexByte(rest, '/')
	if j < 0 || k < 0 {
		return 0
	}
	p, _ := strconv.Atoi(rest[j+1 : k])
	return p
}

// Restart stops and starts the private server (fast shutdown), to test
// recovery from a database restart. It fails the test when the server is
// not this package's own.
func Restart(t testing.TB, down time.Duration) {
	t.Helper()
	Pause(t)
	time.Sleep(down)
	Resume(t)
}

// Pause stops the private server (fast shutdown: connections are cut)
// until Resume; it skips the test when the server is not this package's
// own.
func Pause(t testing.TB) {
	t.Helper()
	if dataDir == "" {
		t.Skip("database restart needs the private test server")
	}
	if out, err := runAsPostgres(pgCtl, "-D", dataDir, "-m", "fast", "-w", "stop").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl stop: %v %s", err, out)
	}
}

// Resume starts the private server again after Pause.
func Resume(t testing.TB) {
	t.Helper()
	root := filepath.Dir(dataDir)
	opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", Port(), root)
	if out, err := runAsPostgres(pgCtl, "-D", dataDir, "-o", opts, "-l", filepath.Join(root, "log"), "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl start: %v %s", err, out)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func runAsPostgres(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func chownToPostgres(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root but no postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}
