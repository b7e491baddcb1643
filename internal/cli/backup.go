package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vulngate/vulngate/internal/backup"
	"github.com/vulngate/vulngate/internal/datadir"
	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/store"
)

func (e *env) backupCmd() *cobra.Command {
	var withoutAdvisories bool
	cmd := &cobra.Command{
		Use:   "backup FILE|DIR",
		Short: "Back up the store to a file, while the server runs",
		Long: `Write a consistent snapshot of the store (SQLite in the data directory, or
PostgreSQL with --database-url) to FILE, or into DIR as
vulngate-backup-<UTC time>.zip. The server may keep running: the snapshot is
one read transaction.

The file is a zip archive in an engine-neutral format: manifest.json (schema
version, each table with its row count and SHA-256 digest, what was left out
and why) and one JSON Lines file per table. It carries everything people
made (assessments and their history, types, policies, findings, feeds with
their decisions and tracked packages, users, API keys, settings, job
history) and the mirrored advisories unless --without-advisories. Login
sessions and cached upstream answers are left out. The file is readable by
its owner only: it holds password hashes and settings as stored.

Restore it with "vulngate restore FILE".`,
		Example: `  vulngate backup /backups/vulngate.zip
  vulngate backup --without-advisories /backups/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withStore(cmd, func(ctx context.Context, st *store.Store, _ string) error {
				opts := backup.Options{WithoutAdvisories: withoutAdvisories, Version: version(), Logger: e.log}
				var res *backup.Result
				if fi, err := os.Stat(args[0]); err == nil && fi.IsDir() {
					res, err = backup.WriteInto(ctx, st, args[0], opts)
					if err != nil {
						return err
					}
				} else if res, err = backup.WriteFile(ctx, st, args[0], opts); err != nil {
					return err
				}
				m := res.Manifest
				fmt.Fprintf(e.stdout, "Backup written to %s: %d tables, %d rows, %s, in %s (schema version %d, %s).\n",
					res.Path, len(m.Tables), m.Rows(), byteSize(res.Size), res.Duration.Round(time.Millisecond), m.SchemaVersion, m.Engine)
				printManifestNotes(e.stdout, m)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&withoutAdvisories, "without-advisories", false, "leave mirrored advisories out (the mirror fetches them again after a restore)")
	return cmd
}

func (e *env) restoreCmd() *cobra.Command {
	var force, dryRun bool
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Restore a backup into an empty data directory or database",
		Long: `Restore a backup made by "vulngate backup" into the store this command line
names (SQLite in the data directory, or PostgreSQL with --database-url), on
either engine whatever the backup was taken from.

The target must hold no user data (a freshly created one is fine); --force
replaces what it holds (a SQLite target's old file is kept beside the new
one as vulngate.db.before-restore-<time>). Stop servers using the target
first. The backup is loaded into a scratch database beside the target and
checked against its manifest, newer migrations of this vulngate are
applied, and only then is the target replaced: a damaged or truncated file
changes nothing. --dry-run reads and checks the whole file without writing.`,
		Example: `  vulngate --data-dir /var/lib/vulngate restore /backups/vulngate.zip
  vulngate --database-url postgres://vulngate@db/vulngate restore /backups/vulngate.zip`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if dryRun {
				m, err := backup.Verify(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s is a complete backup: %d tables, %d rows, taken %s from %s (schema version %d).\n",
					args[0], len(m.Tables), m.Rows(), m.Created.Format(time.RFC3339), m.Engine, m.SchemaVersion)
				printManifestNotes(e.stdout, m)
				return nil
			}
			target, err := e.storeOptions()
			if err != nil {
				return err
			}
			keyDir, err := datadir.Resolve(e.dataDirFlag)
			if err != nil {
				return err
			}
			res, err := backup.Restore(ctx, args[0], target, backup.RestoreOptions{Force: force, Logger: e.log, KeyDir: keyDir})
			var ne *store.NotEmptyError
			if errors.As(err, &ne) {
				return fmt.Errorf("%w; pass --force to replace its contents", err)
			}
			if err != nil {
				return err
			}
			printRestore(e.stdout, res)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace a target that holds data")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only read and check the whole backup")
	return cmd
}

func (e *env) migrateCmd() *cobra.Command {
	var to string
	var force, withoutAdvisories bool
	cmd := &cobra.Command{
		Use:   "migrate --to postgres://...|DIR",
		Short: "Copy the store to another engine (SQLite to PostgreSQL, or back)",
		Long: `Copy the store this command line names (SQLite in the data directory, or
PostgreSQL with --database-url) into another one in one step: a backup to a
temporary file, restored into --to. --to is a PostgreSQL URL or key=value
connection string, or a data directory for SQLite. The source is not
changed.

Everything people made is carried, and the mirrored advisories unless
--without-advisories (the mirror job fetches them again). The snapshot is
taken while the source may be in use; writes after it are not carried, so
stop the server for the final move (or move again with --force).`,
		Example: `  vulngate --data-dir /var/lib/vulngate migrate --to postgres://vulngate@db.internal/vulngate`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(to) == "" {
				return errors.New("--to: name the target: a PostgreSQL URL (postgres://...) or a data directory")
			}
			target := targetOptions(to)
			return e.withStore(cmd, func(ctx context.Context, st *store.Store, dir string) error {
				keyDir := dir // PostgreSQL: the instances' keys are checked against this one's
				if target.DSN == "" {
					keyDir = target.DataDir
					if err := copyKeyFile(dir, target.DataDir); err != nil {
						return err
					}
				}
				res, err := backup.Migrate(ctx, st, target, filepath.Join(dir, "tmp"),
					backup.Options{WithoutAdvisories: withoutAdvisories, Version: version(), Logger: e.log},
					backup.RestoreOptions{Force: force, Logger: e.log, KeyDir: keyDir})
				var ne *store.NotEmptyError
				if errors.As(err, &ne) {
					return fmt.Errorf("%w; pass --force to replace its contents", err)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "Copied %s (%s) in %s.\n", st.Location(), st.Dialect(), (res.Backup.Duration + res.Restore.Duration).Round(time.Millisecond))
				printRestore(e.stdout, res.Restore)
				if target.DSN != "" {
					fmt.Fprintf(e.stdout, "Next: stop the servers on the old store and start them with --database-url (or $%s) set to the new database.\n", DatabaseURLEnv)
					if len(res.Restore.Manifest.Sealed) > 0 {
						fmt.Fprintf(e.stdout, "Every instance needs the key that sealed the stored secrets: the key in %s, as $%s (or that file in each instance's data directory).\n",
							filepath.Join(dir, secret.KeyFile), secret.EnvKey)
					}
				} else {
					fmt.Fprintf(e.stdout, "Next: start vulngate with --data-dir %s.\n", target.DataDir)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "target: PostgreSQL URL or key=value string, or a data directory for SQLite")
	cmd.Flags().BoolVar(&force, "force", false, "replace a target that holds data")
	cmd.Flags().BoolVar(&withoutAdvisories, "without-advisories", false, "leave mirrored advisories out (the mirror fetches them again)")
	return cmd
}

// storeOptions names the store of this command line without opening it.
func (e *env) storeOptions() (store.Options, error) {
	dsn := e.databaseURL
	if dsn == "" {
		dsn = os.Getenv(DatabaseURLEnv)
	}
	if dsn != "" {
		return store.Options{DSN: dsn}, nil
	}
	dir, err := datadir.Resolve(e.dataDirFlag)
	return store.Options{DataDir: dir}, err
}

// targetOptions reads --to: a PostgreSQL URL or key=value string, or a
// directory.
func targetOptions(to string) store.Options {
	to = strings.TrimSpace(to)
	if strings.HasPrefix(to, "postgres://") || strings.HasPrefix(to, "postgresql://") || strings.Contains(to, "=") {
		return store.Options{DSN: to}
	}
	dir, err := filepath.Abs(to)
	if err != nil {
		dir = to
	}
	return store.Options{DataDir: dir}
}

// copyKeyFile gives a new SQLite data directory the secret key file of
// the source, so that its sealed secrets open there (an existing key file
// is left alone).
func copyKeyFile(from, to string) error {
	data, err := os.ReadFile(filepath.Join(from, secret.KeyFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(to, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(to, secret.KeyFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func printRestore(w io.Writer, res *backup.RestoreResult) {
	m := res.Manifest
	fmt.Fprintf(w, "Restored %d rows of %d tables into %s in %s (backup taken %s from %s, schema version %d).\n",
		res.Rows, len(m.Tables), res.Target, res.Duration.Round(time.Millisecond), m.Created.Format(time.RFC3339), m.Engine, m.SchemaVersion)
	if len(res.Migrated) > 0 {
		fmt.Fprintf(w, "Applied %d newer migrations after loading the data.\n", len(res.Migrated))
	}
	if res.Kept != "" {
		fmt.Fprintf(w, "The previous database was kept as %s.\n", res.Kept)
	}
	if len(res.MissingKeys) > 0 {
		fmt.Fprintf(w, "WARNING: the backup's sealed secrets need key %s, which %s does not hold: put the source's %s there (or set $%s) before starting vulngate, or enter those secrets again.\n",
			strings.Join(res.MissingKeys, ", "), res.KeyOrigin, secret.KeyFile, secret.EnvKey)
	}
	printManifestNotes(w, m)
}

func printManifestNotes(w io.Writer, m *backup.Manifest) {
	for _, n := range m.Notes {
		fmt.Fprintf(w, "  - %s\n", n)
	}
	var unclassified []string
	for _, t := range m.Tables {
		if t.Unclassified {
			unclassified = append(unclassified, t.Name)
		}
	}
	if len(unclassified) > 0 {
		fmt.Fprintf(w, "  - Tables this vulngate does not classify, carried as user data: %s.\n", strings.Join(unclassified, ", "))
	}
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
