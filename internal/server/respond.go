package server

// How every handler answers: one error classification (statusOf) used by
// the API and the pages, the API handler shape (apiFunc, answered by
// serveAPI), problem+json, and the request helpers the API shares (JSON
// body decoding, query parameters, paging).

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/jsonenc"
	"github.com/vulngate/vulngate/internal/source/ossindex"
	"github.com/vulngate/vulngate/internal/store"
)

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
}

// problem writes an application/problem+json response.
func problem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Instance: r.URL.Path})
}

// httpError is an error that says how to answer it: a status, a message
// meant for the caller, and headers (Retry-After, Location...).
type httpError struct {
	status int
	msg    string
	header http.Header
}

func (e *httpError) Error() string { return e.msg }

// errStatus makes an httpError.
func errStatus(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// with adds a header to the answer.
func (e *httpError) with(key, value string) *httpError {
	if e.header == nil {
		e.header = http.Header{}
	}
	e.header.Set(key, value)
	return e
}

// badRequest marks a malformed request (query, path, body syntax): 400.
func badRequest(err error) error {
	return &httpError{status: http.StatusBadRequest, msg: err.Error()}
}

// statusOf is the one mapping from errors to HTTP statuses, for the API
// and the pages alike. Unknown errors are 500.
func statusOf(err error) int {
	var he *httpError
	var ae *ossindex.AuthError
	switch {
	case errors.As(err, &he):
		return he.status
	case store.IsUnavailable(err), errors.Is(err, jobs.ErrStopped), errors.Is(err, auth.ErrBusy):
		return http.StatusServiceUnavailable
	case errors.Is(err, assess.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, store.ErrNotFound), errors.Is(err, jobs.ErrUnknownJob):
		return http.StatusNotFound
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrInUse), errors.Is(err, jobs.ErrRunning):
		return http.StatusConflict
	case errors.Is(err, store.ErrInvalid):
		return http.StatusUnprocessableEntity
	case errors.As(err, &ae):
		// A rejected OSS Index token is a configuration problem the
		// caller should see.
		return http.StatusBadGateway
	default:
		return http.StatusInternalServerError
	}
}

// explain classifies err for an answer: the status, the message the caller
// may see (never an internal error's text) and the headers to set. Server
// errors are logged here, with their text.
func (s *Server) explain(r *http.Request, err error) (int, string, http.Header) {
	status := statusOf(err)
	var he *httpError
	if errors.As(err, &he) {
		return status, he.msg, he.header
	}
	switch {
	case status == http.StatusServiceUnavailable && store.IsUnavailable(err):
		s.log.Error("database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		return status, "the database is unavailable; retry shortly", http.Header{"Retry-After": {"5"}}
	case errors.Is(err, auth.ErrBusy):
		return status, err.Error(), http.Header{"Retry-After": {"1"}}
	case status == http.StatusBadGateway:
		s.log.Warn("OSS Index refused the credentials", "err", err)
	case status >= 500:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		return status, "internal error; see the server log", nil
	}
	return status, err.Error(), nil
}

// fail answers an API request with err as a problem.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, h := s.explain(r, err)
	for k, v := range h {
		w.Header()[k] = v
	}
	problem(w, r, status, msg)
}

// apiFunc is the shape of an API handler: it returns what to answer (a
// value written as JSON with 200, or an answer) or an error, which
// serveAPI turns into a problem.
type apiFunc func(r *http.Request) (any, error)

// answer is an API result with another status than 200, headers, cookies
// or a body that is not JSON.
type answer struct {
	status      int
	body        any // JSON; nil for no body
	raw         []byte
	contentType string // of raw
	header      http.Header
	cookies     []*http.Cookie
}

// noContent answers 204.
func noContent() answer { return answer{status: http.StatusNoContent} }

// created answers 201 with the new resource's location.
func created(location string, body any) answer {
	return answer{status: http.StatusCreated, body: body, header: http.Header{"Location": {location}}}
}

// serveAPI adapts an apiFunc: request bodies are limited to maxBody, and
// the result or error is written.
func (s *Server) serveAPI(fn apiFunc) http.HandlerFunc { return s.serveAPILimit(maxBody, fn) }

// serveAPILimit is serveAPI with another request body limit (uploads).
func (s *Server) serveAPILimit(limit int64, fn apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		v, err := fn(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		a, ok := v.(answer)
		if !ok {
			writeJSON(w, http.StatusOK, v)
			return
		}
		for k, vs := range a.header {
			w.Header()[k] = vs
		}
		for _, c := range a.cookies {
			http.SetCookie(w, c)
		}
		switch {
		case a.raw != nil:
			w.Header().Set("Content-Type", a.contentType)
			w.WriteHeader(orStatus(a.status, http.StatusOK))
			w.Write(a.raw)
		case a.body != nil:
			writeJSON(w, orStatus(a.status, http.StatusOK), a.body)
		default:
			w.WriteHeader(orStatus(a.status, http.StatusNoContent))
		}
	}
}

func orStatus(status, def int) int {
	if status == 0 {
		return def
	}
	return status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// encoding/json's compact bytes (indentation was 6% of a busy list's
	// CPU; clients parse, people pipe through jq), in one pass, gathered
	// in steps of jsonWriteStep: the encoder hands over a few KiB at a
	// time, and each write to the connection is a system call (a page of
	// 50 findings, ~25 KiB, went out in several).
	bw := jsonWriters.Get().(*bufio.Writer)
	bw.Reset(w)
	jsonenc.Write(bw, v)
	bw.Flush()
	bw.Reset(nil)
	jsonWriters.Put(bw)
}

// jsonWriteStep is the most writeJSON gathers before writing.
const jsonWriteStep = 64 << 10

var jsonWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, jsonWriteStep) }}

// maxBody limits API request bodies.
const maxBody = 4 << 20

// decode reads a JSON body strictly into v (unknown fields are errors).
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest(fmt.Errorf("request body: %w", err))
	}
	return nil
}

// multi reads a repeatable, comma-separated query parameter.
func multi(q url.Values, k string) []string {
	var out []string
	for _, v := range q[k] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(q url.Values, k string, def, lo, hi int) (int, error) {
	v := q.Get(k)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s %q: want a number from %d to %d", k, v, lo, hi)
	}
	return n, nil
}

// maxPage is the largest page a list answers.
const maxPage = 500

// listPage is one page of a list: the items from Offset, at most Limit, of
// Total.
type listPage[T any] struct {
	Total  int `json:"total"`
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
	Items  []T `json:"items"`
}

// pageParams reads offset (default 0) and limit (default def, at most
// maxPage).
func pageParams(q url.Values, def int) (offset, limit int, err error) {
	if offset, err = intParam(q, "offset", 0, 0, 1<<30); err != nil {
		return 0, 0, err
	}
	if limit, err = intParam(q, "limit", def, 1, maxPage); err != nil {
		return 0, 0, err
	}
	return offset, limit, nil
}

// pathID reads a numeric path parameter.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil {
		return 0, badRequest(fmt.Errorf("%s %q: want a number", name, r.PathValue(name)))
	}
	return id, nil
}
