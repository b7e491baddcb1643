package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/store"
)

// jobRoutes: the scheduled jobs, their schedules and runs, a run's live
// log.
func (s *Server) jobRoutes() []route {
	return []route{
		s.api("GET /api/v1/jobs", auth.Viewer, s.apiJobs),
		s.api("GET /api/v1/jobs/{name}", auth.Viewer, s.apiJob),
		s.api("PUT /api/v1/jobs/{name}", auth.Admin, s.apiPutJob),
		s.api("GET /api/v1/jobs/{name}/runs", auth.Viewer, s.apiJobRuns),
		s.api("POST /api/v1/jobs/{name}/runs", auth.Admin, s.apiRunJob),
		s.api("GET /api/v1/jobs/{name}/runs/{id}", auth.Viewer, s.apiJobRun),
		s.plain("GET /api/v1/jobs/{name}/runs/{id}/log", auth.Viewer, s.apiJobLog),
	}
}

type runOut struct {
	ID       int64     `json:"id"`
	Job      string    `json:"job"`
	Cause    string    `json:"cause"`
	Status   string    `json:"status"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Error    string    `json:"error,omitempty"`
	Log      *string   `json:"log,omitempty"`
}

func runJSON(jr store.JobRun, withLog bool) runOut {
	o := runOut{ID: jr.ID, Job: jr.Job, Cause: jr.Cause, Status: jr.Status, Started: jr.Started, Finished: jr.Finished, Error: jr.Error}
	if withLog {
		l := jr.Log
		o.Log = &l
	}
	return o
}

type jobOut struct {
	Name        string    `json:"name"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Cron        string    `json:"cron"`
	DefaultCron string    `json:"default_cron"`
	Enabled     bool      `json:"enabled"`
	NextRun     time.Time `json:"next_run,omitzero"`
	RunningRun  int64     `json:"running_run,omitempty"`
	LastRun     *runOut   `json:"last_run,omitempty"`
}

// jobJSON describes a job as the database records it (its last run and
// the run in progress, on whichever instance).
func jobJSON(inf jobs.Info) jobOut {
	o := jobOut{Name: inf.Name, Title: inf.Title, Description: inf.Description, Cron: inf.Cron, DefaultCron: inf.DefaultCron, Enabled: inf.Enabled, NextRun: inf.NextRun, RunningRun: inf.Running}
	if inf.Last != nil {
		l := runJSON(*inf.Last, false)
		o.LastRun = &l
	}
	return o
}

func (s *Server) apiJobs(r *http.Request) (any, error) {
	infs, err := s.runner.JobsContext(r.Context())
	if err != nil {
		return nil, err
	}
	out := []jobOut{}
	for _, inf := range infs {
		out = append(out, jobJSON(inf))
	}
	return out, nil
}

// jobOf returns the job named in the path.
func (s *Server) jobOf(r *http.Request) (jobs.Info, error) {
	name := r.PathValue("name")
	inf, ok, err := s.runner.JobContext(r.Context(), name)
	if err != nil {
		return inf, err
	}
	if !ok {
		return inf, errStatus(http.StatusNotFound, "no job named %q", name)
	}
	return inf, nil
}

func (s *Server) apiJob(r *http.Request) (any, error) {
	inf, err := s.jobOf(r)
	if err != nil {
		return nil, err
	}
	return jobJSON(inf), nil
}

type jobUpdate struct {
	Cron string `json:"cron"`
}

func (s *Server) apiPutJob(r *http.Request) (any, error) {
	inf, err := s.jobOf(r)
	if err != nil {
		return nil, err
	}
	var up jobUpdate
	if err := decode(r, &up); err != nil {
		return nil, err
	}
	if err := s.setSchedule(r, inf.Name, up.Cron); err != nil {
		return nil, err
	}
	if inf, err = s.jobOf(r); err != nil {
		return nil, err
	}
	return jobJSON(inf), nil
}

func (s *Server) apiJobRuns(r *http.Request) (any, error) {
	inf, err := s.jobOf(r)
	if err != nil {
		return nil, err
	}
	limit, err := intParam(r.URL.Query(), "limit", 50, 1, maxPage)
	if err != nil {
		return nil, badRequest(err)
	}
	runs, err := s.st.JobRuns(r.Context(), inf.Name, limit)
	if err != nil {
		return nil, err
	}
	out := make([]runOut, 0, len(runs))
	for _, jr := range runs {
		out = append(out, runJSON(jr, false))
	}
	return out, nil
}

// setSchedule stores a job's schedule for every instance: a malformed
// expression is a 422; the store's errors are classified as usual.
func (s *Server) setSchedule(r *http.Request, name, expr string) error {
	if expr = strings.TrimSpace(expr); expr != "" {
		if err := jobs.ValidateCron(expr); err != nil {
			return errStatus(http.StatusUnprocessableEntity, "cron: %v", err)
		}
	}
	return s.runner.SetSchedule(r.Context(), name, expr, principal(r).Username)
}

// runNow triggers a run; on conflict it returns the running run's ID.
func (s *Server) runNow(r *http.Request, name string) (int64, error) {
	return s.runner.Trigger(name, "manual:"+principal(r).Username)
}

func runURL(job string, id int64) string { return fmt.Sprintf("/api/v1/jobs/%s/runs/%d", job, id) }

func (s *Server) apiRunJob(r *http.Request) (any, error) {
	inf, err := s.jobOf(r)
	if err != nil {
		return nil, err
	}
	id, err := s.runNow(r, inf.Name)
	switch {
	case errors.Is(err, jobs.ErrRunning):
		return nil, errStatus(http.StatusConflict, "job %s is already running (run %d); wait for it to finish", inf.Name, id).with("Location", runURL(inf.Name, id))
	case errors.Is(err, jobs.ErrStopped):
		return nil, errStatus(http.StatusServiceUnavailable, "the server is shutting down")
	case err != nil:
		return nil, err
	}
	jr, err := s.st.JobRun(r.Context(), inf.Name, id)
	if err != nil {
		return nil, err
	}
	return answer{status: http.StatusAccepted, body: runJSON(jr, false), header: http.Header{"Location": {runURL(inf.Name, id)}}}, nil
}

// runOf returns the run named in the path.
func (s *Server) runOf(r *http.Request) (store.JobRun, error) {
	inf, err := s.jobOf(r)
	if err != nil {
		return store.JobRun{}, err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return store.JobRun{}, errStatus(http.StatusBadRequest, "run id %q: want a number", r.PathValue("id"))
	}
	return s.st.JobRun(r.Context(), inf.Name, id)
}

func (s *Server) apiJobRun(r *http.Request) (any, error) {
	jr, err := s.runOf(r)
	if err != nil {
		return nil, err
	}
	if lv := s.runner.Live(jr.Job, jr.ID); lv != nil {
		jr.Log = lv.Text()
	}
	return runJSON(jr, true), nil
}

// followStoredLog streams the log of a run this instance is not running,
// as stored: a finished run's at once; for a run in progress on another
// instance, the lines its instance saves (every 2s) as they come, until
// it ends or the client leaves.
func (s *Server) followStoredLog(r *http.Request, jr store.JobRun, send func(event, data string), flush func() error) {
	sent := 0
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		// Read it again: the run may have just finished, or grown.
		if fresh, err := s.st.JobRun(r.Context(), jr.Job, jr.ID); err == nil {
			jr = fresh
		}
		text := strings.TrimRight(jr.Log, "\n")
		if len(text) > sent {
			for _, l := range strings.Split(strings.TrimLeft(text[sent:], "\n"), "\n") {
				if l != "" {
					send("", l)
				}
			}
			sent = len(text)
		}
		if jr.Status != store.RunRunning {
			send("end", jr.Status)
			flush()
			return
		}
		flush()
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

// apiJobLog streams a run's log as Server-Sent Events: one "message" event
// per line (the lines so far, then new ones as they are written), then an
// "end" event whose data is the run's status. A finished run's stored log
// is sent at once, followed by "end".
func (s *Server) apiJobLog(w http.ResponseWriter, r *http.Request) {
	jr, err := s.runOf(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event, data string) {
		if event != "" {
			fmt.Fprintf(w, "event: %s\n", event)
		}
		for _, l := range strings.Split(data, "\n") {
			fmt.Fprintf(w, "data: %s\n", strings.TrimRight(l, "\r"))
		}
		fmt.Fprint(w, "\n")
	}
	lv := s.runner.Live(jr.Job, jr.ID)
	if lv == nil {
		s.followStoredLog(r, jr, send, rc.Flush)
		return
	}
	backlog, lines, done, cancel := lv.Subscribe()
	defer cancel()
	for _, l := range backlog {
		send("", l)
	}
	rc.Flush()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case l := <-lines:
			send("", l)
			rc.Flush()
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
			rc.Flush()
		case <-done:
			for {
				select {
				case l := <-lines:
					send("", l)
					continue
				default:
				}
				break
			}
			send("end", lv.Status())
			rc.Flush()
			return
		case <-r.Context().Done():
			return
		}
	}
}
