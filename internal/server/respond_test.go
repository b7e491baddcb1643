package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/jobs"
	"github.com/vulngate/vulngate/internal/store"
)

// TestStatusOf holds the one error classification: shared store sentinels
// (wrapped), jobs errors, httpErrors, and anything else as 500.
func TestStatusOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("user 7: %w", store.ErrNotFound), 404},
		{fmt.Errorf("feed %q: %w", "x", store.ErrConflict), 409},
		{fmt.Errorf("type: %w", store.ErrInUse), 409},
		{store.Invalid(errors.New("name: required")), 422},
		{fmt.Errorf("saving: %w", store.Invalid(errors.New("bad"))), 422},
		{badRequest(errors.New("limit")), 400},
		{errStatus(http.StatusTooManyRequests, "slow down"), 429},
		{jobs.ErrRunning, 409},
		{jobs.ErrUnknownJob, 404},
		{jobs.ErrStopped, 503},
		{errors.New("sql: Scan error on column index 0"), 500},
	} {
		if got := statusOf(c.err); got != c.want {
			t.Errorf("statusOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// TestInternalErrorTextHidden: an unknown error answers 500 without its
// text, on the API and on pages.
func TestInternalErrorTextHidden(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{log: slog.New(slog.DiscardHandler), pages: pages}
	secret := errors.New(`pq: relation "app_user" does not exist at /var/lib/vulngate`)
	api := httptest.NewRecorder()
	s.serveAPI(func(*http.Request) (any, error) { return nil, secret })(api, httptest.NewRequest("GET", "/api/v1/x", nil))
	page := httptest.NewRecorder()
	s.uiFail(page, httptest.NewRequest("GET", "/x", nil), secret, func(int, string) { t.Error("a server error re-rendered the form") })
	for name, rec := range map[string]*httptest.ResponseRecorder{"api": api, "page": page} {
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != 500 || strings.Contains(string(body), "app_user") || strings.Contains(string(body), "/var/lib") {
			t.Errorf("%s: %d %s", name, rec.Code, body)
		}
	}
}
