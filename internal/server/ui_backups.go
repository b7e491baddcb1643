package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/backup"
)

// backupPages: Administration › Backups.
func (s *Server) backupPages() []route {
	return []route{
		s.plain("GET /admin/backups", auth.Admin, s.uiBackups),
		s.plain("POST /admin/backups", auth.Admin, s.uiSaveBackups),
	}
}

func (s *Server) backupsPage(w http.ResponseWriter, r *http.Request, status int, form *backup.Settings, errMsg string) {
	data, err := s.backups(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	if form != nil {
		data.Settings = *form
	}
	s.render(w, r, status, "backups", "Backups", data, errMsg)
}

func (s *Server) uiBackups(w http.ResponseWriter, r *http.Request) {
	s.backupsPage(w, r, http.StatusOK, nil, "")
}

func (s *Server) uiSaveBackups(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	set := backup.Settings{
		Enabled:           r.PostFormValue("enabled") != "",
		Dir:               r.PostFormValue("dir"),
		WithoutAdvisories: r.PostFormValue("without_advisories") != "",
	}
	keep, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("keep")))
	if err != nil {
		keep = -1 // refused by the check with its message
	}
	set.Keep = keep
	if _, err := s.putBackupSettings(r.Context(), set); err != nil {
		s.uiFail(w, r, err, func(status int, msg string) { s.backupsPage(w, r, status, &set, msg) })
		return
	}
	s.log.Info("backup settings updated", "user", principal(r).Username, "enabled", set.Enabled, "dir", set.Dir, "keep", set.Keep)
	http.Redirect(w, r, "/admin/backups?ok=saved", http.StatusSeeOther)
}
