package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/backup"
)

// The backup job is off until enabled; enabled, it writes backups that
// restore, keeps the newest N, and shows its run with the other jobs.
func TestBackupJob(t *testing.T) {
	e := newEnv(t)
	var job jobOut
	e.do(auth.Viewer, "GET", "/api/v1/jobs/"+JobBackup, nil).json(t, &job)
	if job.Enabled || job.DefaultCron == "" {
		t.Fatalf("backup job by default: %+v; want off with a schedule", job)
	}
	var got backupsOut
	res := e.do(auth.Admin, "GET", "/api/v1/backups", nil)
	wantStatus(t, res, 200)
	res.json(t, &got)
	if got.Settings.Enabled || got.Settings.Keep != backup.DefaultKeep || len(got.Backups) != 0 {
		t.Fatalf("default backups: %+v", got)
	}
	wantStatus(t, e.do(auth.Assessor, "GET", "/api/v1/backups", nil), http.StatusForbidden)
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/backups/settings", backup.Settings{Enabled: true, Dir: "relative/dir"}), http.StatusUnprocessableEntity, "absolute")
	wantProblem(t, e.do(auth.Admin, "PUT", "/api/v1/backups/settings", backup.Settings{Enabled: true, Keep: 5000}), http.StatusUnprocessableEntity, "keep")

	dir := t.TempDir()
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/backups/settings", backup.Settings{Enabled: true, Dir: dir, Keep: 2, WithoutAdvisories: true}), 200)
	e.do(auth.Viewer, "GET", "/api/v1/jobs/"+JobBackup, nil).json(t, &job)
	if !job.Enabled {
		t.Fatal("backup job still off after enabling it")
	}
	// Files of others in the directory are never touched.
	other := filepath.Join(dir, "notes.txt")
	os.WriteFile(other, []byte("x"), 0o600)
	for i := range 3 {
		res := e.do(auth.Admin, "POST", "/api/v1/jobs/"+JobBackup+"/runs", nil)
		wantStatus(t, res, http.StatusAccepted)
		var run runOut
		res.json(t, &run)
		e.srv.Runner().Wait()
		e.do(auth.Viewer, "GET", fmt.Sprintf("/api/v1/jobs/%s/runs/%d", JobBackup, run.ID), nil).json(t, &run)
		if run.Status != "succeeded" || run.Log == nil || !strings.Contains(*run.Log, "backup written") || !strings.Contains(*run.Log, "table saved") {
			t.Fatalf("run %d: %+v", i, run)
		}
	}
	res = e.do(auth.Admin, "GET", "/api/v1/backups", nil)
	res.json(t, &got)
	if got.Directory != dir || len(got.Backups) != 2 {
		t.Fatalf("backups after 3 runs keeping 2: %+v", got)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("retention touched another file: %v", err)
	}
	m, err := backup.Verify(context.Background(), filepath.Join(dir, got.Backups[0].Name))
	if err != nil {
		t.Fatal(err)
	}
	if m.Advisories {
		t.Error("backup includes advisories despite without_advisories")
	}
	if _, ok := m.Table("app_user"); !ok {
		t.Error("backup lacks the users")
	}

	// The page's form saves, and shows what it refuses.
	form := func(values string) resp {
		req, _ := http.NewRequest("POST", e.http.URL+"/admin/backups", strings.NewReader(values))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return e.send(req, auth.Admin, false)
	}
	bad := form("enabled=1&dir=" + url.QueryEscape(dir) + "&keep=zero")
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(string(bad.body), "keep between 1 and 1000") {
		t.Fatalf("bad form: %d %s", bad.status, bad.body)
	}
	wantStatus(t, form("enabled=1&dir="+url.QueryEscape(dir)+"&keep=2"), http.StatusSeeOther)

	// The page shows the settings and the files.
	page := e.do(auth.Admin, "GET", "/admin/backups", nil)
	wantStatus(t, page, 200)
	for _, want := range []string{`id="backup-form"`, got.Backups[0].Name, `value="2"`} {
		if !strings.Contains(string(page.body), want) {
			t.Errorf("backups page lacks %q", want)
		}
	}
}
