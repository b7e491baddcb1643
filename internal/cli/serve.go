package cli

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/feed/gomod"
	"github.com/vulngate/vulngate/internal/server"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
	"github.com/vulngate/vulngate/internal/store"
)

// serveMapMiB is the default of --sqlite-mmap-mib: how much of the SQLite
// file the server reads through a memory map (store.Options.MapBytes).
// 1 GiB holds some 700,000 advisories with their indexes (the corpus takes
// 1,389 B per advisory); pages past it are read into the page cache as
// before. 200 clients on a project's findings list: ~7% less server CPU
// per request.
const serveMapMiB = 1024

func (e *env) serveCmd() *cobra.Command {
	var addr, osvBase, osvEcos string
	var secureCookies bool
	var metricsToken, publicURL, goSumDB, goSumDBName string
	var grace, bodyTimeout, writeTimeout, leaseTTL, pollEvery time.Duration
	var cacheDir string
	var maxConns, mapMiB int
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the vulngate server: web UI, REST API and scheduled jobs",
		Long: `Run the vulngate server on the store in the data directory: the web UI,
the REST API under /api/v1 (described at /api/openapi.json), /healthz,
/readyz, Prometheus /metrics, and the scheduled jobs (OSV mirror daily at
02:00 and at start-up once a source is configured).

On the first start it creates the user "admin" with the password from
$` + auth.AdminPasswordEnv + `, or generates one and prints it once to standard
error. SIGINT or SIGTERM stop the server gracefully.

--osv-ecosystems (with --osv-base-url) configures the OSV source on a first
start, so that the mirror job runs at once; afterwards the source is managed
in Administration > Vulnerability sources and these flags are ignored.

Several instances may share one PostgreSQL database (--database-url): jobs
run on one at a time under a lease in the database (--job-lease-ttl is how
soon another instance takes over the jobs of one that died), and their
feeds may share one artifact cache directory (--cache-dir, e.g. on shared
storage).

Environment: VULNGATE_ADDR, ` + auth.AdminPasswordEnv + `, VULNGATE_DATA_DIR, VULNGATE_METRICS_TOKEN, VULNGATE_CACHE_DIR,
VULNGATE_OSV_BASE_URL, VULNGATE_OSV_ECOSYSTEMS, VULNGATE_PUBLIC_URL, VULNGATE_GO_SUMDB,
VULNGATE_DATABASE_URL (PostgreSQL; several instances may share one database).`,
		Example: `  VULNGATE_ADMIN_PASSWORD='change-me-now!' vulngate serve --addr 127.0.0.1:8080`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if leaseTTL < time.Second {
				return fmt.Errorf("--job-lease-ttl %s: want at least 1s", leaseTTL)
			}
			if pollEvery < 100*time.Millisecond {
				return fmt.Errorf("--job-poll-interval %s: want at least 100ms", pollEvery)
			}
			if mapMiB < 0 {
				return fmt.Errorf("--sqlite-mmap-mib %d: want 0 (off) or a size in MiB", mapMiB)
			}
			defer e.bufferLogs()()
			defer collectAboveFloor(serveHeapFloor)()
			st, dir, err := e.openStoreWith(ctx, store.Options{MapBytes: int64(mapMiB) << 20})
			if err != nil {
				return err
			}
			defer st.Close()
			opts, err := feedServeOptions(publicURL, goSumDB, goSumDBName)
			if err != nil {
				return err
			}
			var seed *server.OSVSettings
			if ecos := splitList(osvEcos); len(ecos) > 0 {
				seed = &server.OSVSettings{Enabled: true, BaseURL: osvBase, Ecosystems: ecos}
			}
			srv, err := server.New(ctx, server.Options{
				SeedOSV:           seed,
				Store:             st,
				DataDir:           dir,
				Logger:            e.log,
				Version:           version(),
				AdminPassword:     os.Getenv(auth.AdminPasswordEnv),
				Notice:            e.stderr,
				SecureCookies:     secureCookies,
				MetricsToken:      metricsToken,
				MaxConnsPerClient: maxConns,
				BodyTimeout:       bodyTimeout,
				WriteTimeout:      writeTimeout,
				PublicURL:         opts.PublicURL,
				GoSumDB:           opts.GoSumDB,
				NoGoSumDB:         opts.NoGoSumDB,
				CacheDir:          cacheDir,
				JobLeaseTTL:       leaseTTL,
				JobPollInterval:   pollEvery,
			})
			if err != nil {
				return err
			}
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("--addr %s: %w", addr, err)
			}
			e.log.Info("data directory", "path", dir)
			e.log.Info("database", "engine", string(st.Dialect()), "location", st.Location()) // password redacted
			return srv.Serve(ctx, l, grace)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", envDefault("VULNGATE_ADDR", "127.0.0.1:8080"), "address to listen on")
	cmd.Flags().StringVar(&osvBase, "osv-base-url", envDefault("VULNGATE_OSV_BASE_URL", osvmirror.DefaultBaseURL), "OSV source for --osv-ecosystems: https://, http:// or file:// URL of the bucket layout")
	cmd.Flags().StringVar(&osvEcos, "osv-ecosystems", envDefault("VULNGATE_OSV_ECOSYSTEMS", ""), "on a first start, enable the OSV source with these ecosystems (comma-separated)")
	cmd.Flags().BoolVar(&secureCookies, "secure-cookies", false, "mark session cookies Secure (set when a TLS proxy is in front)")
	cmd.Flags().StringVar(&metricsToken, "metrics-token", envDefault("VULNGATE_METRICS_TOKEN", ""), "require \"Authorization: Bearer <token>\" on /metrics (empty: /metrics is public)")
	cmd.Flags().StringVar(&publicURL, "public-url", envDefault("VULNGATE_PUBLIC_URL", ""), "the server's external base URL (e.g. https://vulngate.example.com); feeds build absolute URLs from it instead of each request's Host")
	cmd.Flags().StringVar(&goSumDB, "go-sumdb", envDefault("VULNGATE_GO_SUMDB", "https://sum.golang.org"), "checksum database Go feeds proxy under /sumdb/ (URL), or \"off\"")
	cmd.Flags().StringVar(&goSumDBName, "go-sumdb-name", "", "its name as GOSUMDB gives it (default: the URL's host)")
	cmd.Flags().DurationVar(&grace, "shutdown-timeout", 30*time.Second, "how long to wait for requests and jobs on shutdown")
	cmd.Flags().IntVar(&maxConns, "max-conns-per-client", 64, "connections one client address may hold at once (-1: no limit; raise it behind a reverse proxy, where every client has the proxy's address)")
	cmd.Flags().DurationVar(&bodyTimeout, "body-timeout", time.Minute, "how long a client may take to send a request body")
	cmd.Flags().DurationVar(&writeTimeout, "write-timeout", time.Minute, "how long one write of a response may stall (streams and downloads run as long as they progress)")
	cmd.Flags().StringVar(&cacheDir, "cache-dir", envDefault("VULNGATE_CACHE_DIR", ""), "the feeds' artifact cache (default <data-dir>/cache); several instances may share one, e.g. on shared storage")
	cmd.Flags().DurationVar(&leaseTTL, "job-lease-ttl", 30*time.Second, "how long a job's lease outlives an instance that stops renewing it (then another instance takes the job over)")
	cmd.Flags().IntVar(&mapMiB, "sqlite-mmap-mib", serveMapMiB, "MiB of the SQLite file read through a memory map (0: off; ignored with PostgreSQL); mapped pages count in the process's RSS")
	cmd.Flags().DurationVar(&pollEvery, "job-poll-interval", 5*time.Second, "how often job schedules and runs of dead instances are read from the database")
	return cmd
}

// feedServeOptions checks the feed flags of serve.
func feedServeOptions(publicURL, sumdbURL, sumdbName string) (server.Options, error) {
	var o server.Options
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return o, fmt.Errorf("--public-url %q: want an http:// or https:// URL with a host (and optionally a path), no query or credentials", publicURL)
		}
		o.PublicURL = strings.TrimRight(u.String(), "/")
	}
	if strings.EqualFold(strings.TrimSpace(sumdbURL), "off") {
		o.NoGoSumDB = true
		return o, nil
	}
	db, err := gomod.ParseSumDB(sumdbURL, sumdbName)
	if err != nil {
		return o, fmt.Errorf("--go-sumdb: %w", err)
	}
	o.GoSumDB = db
	return o, nil
}
