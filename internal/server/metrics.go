package server

// Prometheus metrics. Every label has a fixed set of values, whatever
// clients send: the route is a registered pattern (or "unmatched"), the
// method one of the standard ones (or "other"), the code an HTTP status.
// /metrics is public unless Options.MetricsToken is set; then it needs
// "Authorization: Bearer <token>".

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// perRequest caches the counter and histogram of each route, method
	// and status seen (a fixed set, see observe): requestKey ->
	// requestMetrics.
	perRequest sync.Map
	jobRuns    *prometheus.CounterVec
	jobTime    *prometheus.HistogramVec
	shed       *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vulngate_http_requests_total", Help: "HTTP requests by route pattern, method and status code."}, []string{"route", "method", "code"}),
		latency:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vulngate_http_request_duration_seconds", Help: "HTTP request latency by route pattern.", Buckets: prometheus.DefBuckets}, []string{"route", "method"}),
		jobRuns:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vulngate_job_runs_total", Help: "Finished job runs by job and status."}, []string{"job", "status"}),
		jobTime:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vulngate_job_run_duration_seconds", Help: "Job run duration.", Buckets: []float64{.1, 1, 10, 60, 300, 1800, 7200}}, []string{"job"}),
		shed:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vulngate_http_shed_total", Help: "Requests refused with 503 because their route class was at its in-flight limit, by class."}, []string{"class"}),
	}
	reg.MustRegister(m.requests, m.latency, m.jobRuns, m.jobTime, m.shed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) jobFinished(job, status string, d time.Duration) {
	m.jobRuns.WithLabelValues(job, status).Inc()
	m.jobTime.WithLabelValues(job).Observe(d.Seconds())
}

// observe counts one request; route and method must come from fixed sets
// (a route pattern, methodLabel).
func (m *metrics) observe(route, method string, status int, d time.Duration) {
	if status < 100 || status > 599 {
		status = 0
	}
	k := requestKey{route, method, status}
	v, ok := m.perRequest.Load(k)
	if !ok {
		v, _ = m.perRequest.LoadOrStore(k, requestMetrics{m.requests.WithLabelValues(route, method, strconv.Itoa(status)), m.latency.WithLabelValues(route, method)})
	}
	rm := v.(requestMetrics)
	rm.count.Inc()
	rm.latency.Observe(d.Seconds())
}

type requestKey struct {
	route, method string
	status        int
}

type requestMetrics struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// methodLabel maps a request method to a fixed set: the standard methods,
// else "other".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) {
	if tok := s.opts.MetricsToken; tok != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(tok)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vulngate metrics"`)
			problem(w, r, http.StatusUnauthorized, "/metrics needs \"Authorization: Bearer <metrics token>\"")
			return
		}
	}
	s.promHandler.ServeHTTP(w, r)
}
