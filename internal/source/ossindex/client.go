package ossindex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/secret"
)

// reportPath is the component report endpoint, relative to the base URL.
// OSS Index and Sonatype Guide serve the same path.
const reportPath = "/api/v3/authorized/component-report"

// maxResponse bounds a component-report response body.
const maxResponse = 64 << 20

// AuthError is returned by Lookup when OSS Index rejects the credentials
// (HTTP 401 or 403). It is a configuration error: nothing is retried.
type AuthError struct {
	Status int
	Host   string
	Hint   string // where the credentials came from (Options.AuthHint)
}

func (e *AuthError) Error() string {
	msg := fmt.Sprintf("OSS Index rejected the token (HTTP %d from %s): check the configured user name and API token", e.Status, e.Host)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// statusError is a non-success HTTP answer. Its body is not kept: an
// upstream error page may echo the request, credentials included, and
// what it says is no business of the scan's readers.
type statusError struct {
	status     int
	retryAfter time.Duration
	hasAfter   bool
}

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d %s", e.status, http.StatusText(e.status))
}

// retryable reports whether an attempt's error may succeed when repeated:
// 429, 408, 5xx and transport errors (timeouts, resets), but not other
// 4xx answers, undecodable bodies or credential rejections.
func retryable(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.status == http.StatusTooManyRequests || se.status == http.StatusRequestTimeout || se.status >= 500
	}
	var ae *AuthError
	var de *decodeError
	return !errors.As(err, &ae) && !errors.As(err, &de)
}

type decodeError struct{ err error }

func (e *decodeError) Error() string { return "undecodable component report: " + e.err.Error() }

// fetchBatch asks for one batch of coordinates, retrying as the options
// allow, and returns the reports or the last error.
func (s *Source) fetchBatch(ctx context.Context, coords []string) ([]componentReport, error) {
	var failures, rateLimited int
	for {
		reports, err := s.post(ctx, coords)
		if err == nil {
			return reports, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		}
		if !retryable(err) {
			return nil, err
		}
		var wait time.Duration
		var se *statusError
		if errors.As(err, &se) && se.status == http.StatusTooManyRequests {
			rateLimited++
			if rateLimited > s.opts.MaxRateLimitWaits {
				return nil, fmt.Errorf("rate limited by OSS Index %d times: %w", rateLimited, err)
			}
			if se.hasAfter {
				wait = se.retryAfter
			} else {
				wait = s.backoff(rateLimited)
			}
		} else {
			failures++
			if failures > s.opts.MaxRetries {
				return nil, fmt.Errorf("gave up after %d attempts: %w", failures, err)
			}
			wait = s.backoff(failures)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, fmt.Errorf("retry in %s would pass the OSS Index deadline: %w", wait.Round(time.Millisecond), err)
		}
		s.log.Warn("OSS Index request failed, retrying", "error", err.Error(), "wait", wait.String(), "coordinates", len(coords))
		if serr := s.sleep(ctx, wait); serr != nil {
			return nil, fmt.Errorf("%w (last error: %v)", serr, err)
		}
	}
}

// backoff returns the n-th (1-based) exponential back-off delay with jitter:
// uniformly in [d/2, d] for d = base * 2^(n-1), capped at MaxBackoff.
func (s *Source) backoff(n int) time.Duration {
	d := s.opts.BackoffBase << min(n-1, 20)
	if d <= 0 || d > s.opts.MaxBackoff {
		d = s.opts.MaxBackoff
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// post makes one request.
func (s *Source) post(ctx context.Context, coords []string) ([]componentReport, error) {
	body, err := json.Marshal(struct {
		Coordinates []string `json:"coordinates"`
	}{coords})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if s.opts.UserAgent != "" {
		req.Header.Set("User-Agent", s.opts.UserAgent)
	}
	s.authorize(req)
	s.requests.Add(1)
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, s.redactErr(err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, &AuthError{Status: resp.StatusCode, Host: s.host, Hint: s.opts.AuthHint}
	case resp.StatusCode != http.StatusOK:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		se := &statusError{status: resp.StatusCode}
		se.retryAfter, se.hasAfter = parseRetryAfter(resp.Header.Get("Retry-After"), s.opts.Now())
		return nil, se
	}
	var reports []componentReport
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxResponse))
	if err := dec.Decode(&reports); err != nil {
		return nil, &decodeError{s.redactErr(err)}
	}
	return reports, nil
}

// authorize sets the credentials: HTTP basic with a user name, else (or
// for a Sonatype Guide personal access token, prefix "sonatype_pat_") a
// Bearer token.
func (s *Source) authorize(req *http.Request) {
	tok := string(s.opts.Token)
	if tok == "" {
		return
	}
	if s.opts.Username == "" || strings.HasPrefix(tok, "sonatype_pat_") {
		req.Header.Set("Authorization", "Bearer "+tok)
		return
	}
	req.SetBasicAuth(s.opts.Username, tok)
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, 86400)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// redact removes every form of the token (raw, escaped, inside Basic or
// Bearer authorization values) from text that might echo it.
func (s *Source) redact(msg string) string { return secret.Redact(msg, s.forms) }

func (s *Source) redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		// url.Error repeats the URL; it carries no credentials (they
		// travel in headers) unless the base URL had userinfo.
		err = fmt.Errorf("%s %s: %w", ue.Op, s.safeEndpoint, ue.Err)
	}
	if msg := s.redact(err.Error()); msg != err.Error() {
		return errors.New(msg)
	}
	return err
}
