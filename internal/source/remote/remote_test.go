package remote

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func read(t *testing.T, url string, o Options) (string, error) {
	t.Helper()
	rc, err := Open(context.Background(), url, o)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

func TestOpen(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("inflated body"))
	zw.Close()
	fails := 2
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gz":
			w.Write(gz.Bytes()) // no Content-Encoding: detected by the magic bytes
		case "/flaky":
			if fails > 0 {
				fails--
				http.Error(w, "busy", http.StatusBadGateway)
				return
			}
			w.Write([]byte("third time"))
		case "/key":
			w.Write([]byte(r.Header.Get("apiKey") + " " + r.UserAgent()))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	o := Options{Backoff: time.Millisecond, UserAgent: "vulngate/test", Header: http.Header{"apiKey": {"k1"}}}
	if got, err := read(t, srv.URL+"/gz", o); err != nil || got != "inflated body" {
		t.Errorf("gzip: %q %v", got, err)
	}
	if got, err := read(t, srv.URL+"/flaky", o); err != nil || got != "third time" {
		t.Errorf("retries: %q %v", got, err)
	}
	if got, err := read(t, srv.URL+"/key", o); err != nil || got != "k1 vulngate/test" {
		t.Errorf("headers: %q %v", got, err)
	}
	_, err := read(t, srv.URL+"/missing?token=s3cret", o)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 404 || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("404: %v (the query must not be shown)", err)
	}
	if _, err := read(t, srv.URL+"/gz", Options{MaxBytes: 5}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit: %v", err)
	}
	if got, err := read(t, srv.URL+"/gz", Options{MaxBytes: int64(len("inflated body"))}); err != nil || got != "inflated body" {
		t.Errorf("a body of exactly the limit: %q %v", got, err)
	}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f.txt"), []byte("local"), 0o644)
	if got, err := read(t, "file://"+filepath.Join(dir, "f.txt"), Options{}); err != nil || got != "local" {
		t.Errorf("file: %q %v", got, err)
	}
	for _, bad := range []string{"ftp://host/x", "https://user:pw@host/x", "relative/path", "http:///nohost"} {
		if _, err := Open(context.Background(), bad, Options{}); err == nil || strings.Contains(err.Error(), "pw@") {
			t.Errorf("Open(%q) = %v", bad, err)
		}
	}
}
