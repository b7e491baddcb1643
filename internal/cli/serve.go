package cli

import (
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/server"
	"github.com/vulngate/vulngate/internal/source/osvmirror"
)

func (e *env) serveCmd() *cobra.Command {
	var addr, osvBase, osvEcos string
	var secureCookies bool
	var metricsToken string
	var grace time.Duration
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

Environment: VULNGATE_ADDR, ` + auth.AdminPasswordEnv + `, VULNGATE_DATA_DIR, VULNGATE_METRICS_TOKEN,
VULNGATE_OSV_BASE_URL, VULNGATE_OSV_ECOSYSTEMS,
VULNGATE_DATABASE_URL (PostgreSQL; several instances may share one database).`,
		Example: `  VULNGATE_ADMIN_PASSWORD='change-me-now!' vulngate serve --addr 127.0.0.1:8080`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, dir, err := e.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			var seed *server.OSVSettings
			if ecos := splitList(osvEcos); len(ecos) > 0 {
				seed = &server.OSVSettings{Enabled: true, BaseURL: osvBase, Ecosystems: ecos}
			}
			srv, err := server.New(ctx, server.Options{
				SeedOSV:       seed,
				Store:         st,
				DataDir:       dir,
				Logger:        e.log,
				Version:       version(),
				AdminPassword: os.Getenv(auth.AdminPasswordEnv),
				Notice:        e.stderr,
				SecureCookies: secureCookies,
				MetricsToken:  metricsToken,
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
	cmd.Flags().DurationVar(&grace, "shutdown-timeout", 30*time.Second, "how long to wait for requests and jobs on shutdown")
	return cmd
}
