package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/jobs"
)

// jobPages: Administration › Scheduled jobs, running a job, a run's page.
func (s *Server) jobPages() []route {
	return []route{
		s.plain("GET /admin/jobs", auth.Admin, s.uiJobs),
		s.plain("POST /admin/jobs/{name}/run", auth.Admin, s.uiRunJob),
		s.plain("POST /admin/jobs/{name}/schedule", auth.Admin, s.uiScheduleJob),
		s.plain("GET /admin/jobs/{name}/runs/{id}", auth.Admin, s.uiRun),
	}
}

type jobView struct {
	jobOut
	Runs []runOut
}

func (s *Server) jobsPage(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	infs, err := s.runner.JobsContext(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	var views []jobView
	for _, inf := range infs {
		v := jobView{jobOut: jobJSON(inf)}
		runs, err := s.st.JobRuns(r.Context(), inf.Name, 10)
		if err != nil {
			s.uiFail(w, r, err, nil)
			return
		}
		for _, jr := range runs {
			v.Runs = append(v.Runs, runJSON(jr, false))
		}
		views = append(views, v)
	}
	s.render(w, r, status, "jobs", "Scheduled jobs", map[string]any{"Jobs": views}, errMsg)
}

func (s *Server) uiJobs(w http.ResponseWriter, r *http.Request) { s.jobsPage(w, r, http.StatusOK, "") }

func (s *Server) uiRunJob(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	id, err := s.runNow(r, name)
	switch {
	case errors.Is(err, jobs.ErrRunning):
		http.Redirect(w, r, fmt.Sprintf("/admin/jobs/%s/runs/%d?ok=running", url.PathEscape(name), id), http.StatusSeeOther)
	case errors.Is(err, jobs.ErrUnknownJob):
		s.renderError(w, r, http.StatusNotFound, fmt.Sprintf("No job named %q.", name))
	case err != nil:
		s.uiFail(w, r, err, nil)
	default:
		http.Redirect(w, r, fmt.Sprintf("/admin/jobs/%s/runs/%d?ok=run", url.PathEscape(name), id), http.StatusSeeOther)
	}
}

func (s *Server) uiScheduleJob(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	name := r.PathValue("name")
	if _, ok := s.runner.Job(name); !ok {
		s.renderError(w, r, http.StatusNotFound, fmt.Sprintf("No job named %q.", name))
		return
	}
	if err := s.setSchedule(r, name, r.PostFormValue("cron")); err != nil {
		if statusOf(err) == http.StatusUnprocessableEntity {
			s.jobsPage(w, r, http.StatusUnprocessableEntity, err.Error())
			return
		}
		s.uiFail(w, r, err, nil)
		return
	}
	http.Redirect(w, r, "/admin/jobs?ok=saved", http.StatusSeeOther)
}

func (s *Server) uiRun(w http.ResponseWriter, r *http.Request) {
	jr, err := s.runOf(r)
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	inf, _ := s.runner.Job(jr.Job)
	s.render(w, r, http.StatusOK, "run", inf.Title, map[string]any{"Run": jr, "Title": inf.Title}, "")
}
