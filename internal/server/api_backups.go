package server

// Backups (internal/backup) in the server: the scheduled backup job (off
// until an administrator enables it), its settings and the backups it
// kept in this instance's view of the backup directory.

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/backup"
	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/store"
)

// JobBackup writes scheduled backups.
const JobBackup = "backup"

func (s *Server) registerBackupJob(ctx context.Context) error {
	return s.runner.Register(ctx, jobs.Job{
		Name:        JobBackup,
		Title:       "Backup",
		Description: "Writes a backup of the store (vulngate-backup-<time>.zip) into the backup directory, then deletes those beyond the newest kept. Off until enabled under Administration › Backups.",
		DefaultCron: "30 1 * * *",
		Enabled: func(ctx context.Context) bool {
			set, err := s.backupSettings(ctx)
			return err == nil && set.Enabled
		},
		Run: s.runBackup,
	})
}

func (s *Server) backupSettings(ctx context.Context) (backup.Settings, error) {
	set := backup.DefaultSettings()
	_, err := s.st.Setting(ctx, backup.SettingName, &set)
	return set, err
}

func (s *Server) putBackupSettings(ctx context.Context, set backup.Settings) (backup.Settings, error) {
	if err := set.Check(); err != nil {
		return set, store.Invalid(err)
	}
	if set.Dir == "" && s.opts.DataDir == "" {
		return set, store.Invalid(errors.New("dir: this server has no data directory; name a backup directory"))
	}
	return set, s.st.PutSetting(ctx, backup.SettingName, set)
}

func (s *Server) runBackup(ctx context.Context, log *slog.Logger) error {
	set, err := s.backupSettings(ctx)
	if err != nil {
		return err
	}
	if set.Dir == "" && s.opts.DataDir == "" {
		return errors.New("no backup directory: set one under Administration › Backups")
	}
	if !set.Enabled {
		log.Warn("scheduled backups are off; running because it was requested")
	}
	res, gone, err := backup.Scheduled(ctx, s.st, set, s.opts.DataDir, backup.Options{Version: s.opts.Version, Logger: log})
	if res != nil {
		log.Info("backup written", "file", res.Path, "bytes", res.Size, "tables", len(res.Manifest.Tables), "rows", res.Manifest.Rows(),
			"advisories", res.Manifest.Advisories, "duration", res.Duration.Round(time.Millisecond).String())
	}
	for _, f := range gone {
		log.Info("old backup deleted", "file", f.Name)
	}
	return err
}

// backupRoutes: the scheduled backups' settings and files.
func (s *Server) backupRoutes() []route {
	return []route{
		s.api("GET /api/v1/backups", auth.Admin, s.apiBackups),
		s.api("PUT /api/v1/backups/settings", auth.Admin, s.apiPutBackupSettings),
	}
}

type backupFileOut struct {
	Name  string    `json:"name"`
	Taken time.Time `json:"taken"`
	Size  int64     `json:"size"`
}

type backupsOut struct {
	Settings  backup.Settings `json:"settings"`
	Directory string          `json:"directory"`
	Job       string          `json:"job"`
	Backups   []backupFileOut `json:"backups"`
}

// backups lists the settings and this instance's view of the directory.
func (s *Server) backups(ctx context.Context) (backupsOut, error) {
	set, err := s.backupSettings(ctx)
	if err != nil {
		return backupsOut{}, err
	}
	out := backupsOut{Settings: set, Job: JobBackup, Backups: []backupFileOut{}}
	if set.Dir == "" && s.opts.DataDir == "" {
		return out, nil
	}
	out.Directory = set.Directory(s.opts.DataDir)
	files, err := backup.List(out.Directory)
	if err != nil {
		return out, err
	}
	for _, f := range files {
		out.Backups = append(out.Backups, backupFileOut{Name: f.Name, Taken: f.Taken, Size: f.Size})
	}
	return out, nil
}

func (s *Server) apiBackups(r *http.Request) (any, error) {
	return s.backups(r.Context())
}

func (s *Server) apiPutBackupSettings(r *http.Request) (any, error) {
	var set backup.Settings
	if err := decode(r, &set); err != nil {
		return nil, err
	}
	out, err := s.putBackupSettings(r.Context(), set)
	if err != nil {
		return nil, err
	}
	s.log.Info("backup settings updated", "user", principal(r).Username, "enabled", out.Enabled, "dir", out.Dir, "keep", out.Keep)
	return out, nil
}
