package server

// OSS Index credentials (issue 12 item 5) and a slow OSS Index (item 10).

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/source/enrich"
	"github.com/vulngate/vulngate/internal/store"
)

const (
	ossUser  = "alice@example.com"
	ossToken = "oss-token-0123456789abcdef"
)

// setOSSIndex points the OSS Index settings at base with the test
// credentials.
func (e *testEnv) setOSSIndex(base string) {
	e.t.Helper()
	wantStatus(e.t, e.do(auth.Admin, "PUT", "/api/v1/sources/ossindex", map[string]any{"enabled": true, "base_url": base, "username": ossUser, "token": ossToken}), 200)
}

// TestOSSIndexCredentialsNeverLeak: an OSS Index that answers 5xx and
// echoes the request's Authorization header (Basic base64(user:token))
// and the token: neither the scan answer a viewer gets, nor the package
// API, nor any log line carries the token in any form or the upstream's
// body; the token is sealed in the database and the key file is 0600.
func TestOSSIndexCredentialsNeverLeak(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream-echo: "+r.Header.Get("Authorization")+" token="+ossToken+" q="+url.QueryEscape(ossToken), http.StatusInternalServerError)
	}))
	defer upstream.Close()
	var logs bytes.Buffer
	e := newEnv(t, func(o *Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	e.setOSSIndex(upstream.URL)
	scan := e.do(auth.Viewer, "POST", "/api/v1/scan", scanRequest{PURLs: []string{"pkg:npm/lodash@4.17.20"}})
	wantStatus(t, scan, 200)
	if !strings.Contains(string(scan.body), "not checked by OSS Index") {
		t.Fatalf("scan does not say OSS Index failed: %s", scan.body)
	}
	pkg := e.do(auth.Viewer, "GET", "/api/v1/packages?purl="+url.QueryEscape("pkg:npm/lodash@4.17.20"), nil)
	for name, text := range map[string]string{"scan": string(scan.body), "package": string(pkg.body), "logs": logs.String()} {
		for _, f := range append(secret.Forms(ossUser, ossToken), "upstream-echo") {
			if strings.Contains(text, f) {
				t.Errorf("%s carries %q", name, f)
			}
		}
	}
	// At rest: sealed, under a key kept apart from the database.
	var row map[string]any
	if _, err := e.st.Setting(context.Background(), settingOSSIndex, &row); err != nil {
		t.Fatal(err)
	}
	if tok, _ := row["token"].(string); !secret.IsSealed(tok) || strings.Contains(tok, ossToken) {
		t.Fatalf("stored token %q is not sealed", tok)
	}
	fi, err := os.Stat(filepath.Join(e.srv.opts.DataDir, secret.KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
}

// TestStoredTokenSealedAndRotated: a token an older version stored in
// plain text is sealed at start-up; after a key rotation it is re-sealed
// with the new key; with the key lost it reads as unreadable, not as an
// error, and can be set again.
func TestStoredTokenSealedAndRotated(t *testing.T) {
	ctx := context.Background()
	st, newServer := serverOnStore(t)
	st.PutSetting(ctx, settingOSSIndex, map[string]any{"enabled": true, "base_url": DefaultOSSIndexURL, "username": ossUser, "token": ossToken})
	start := func(keys *secret.Keyring) (*Server, string) {
		t.Helper()
		srv := newServer(keys)
		var row OSSIndexSettings
		st.Setting(ctx, settingOSSIndex, &row)
		return srv, row.Token
	}
	oldKey, newKey := secret.NewKey(), secret.NewKey()
	k1, _ := secret.Parse(oldKey)
	srv, stored := start(k1)
	if !secret.IsSealed(stored) || !k1.Current(stored) {
		t.Fatalf("plain token not sealed at start-up: %q", stored)
	}
	if v, _ := srv.ossIndexSettings(ctx); v.Token != ossToken {
		t.Fatal("sealed token does not read back")
	}
	// Rotation: the new key first, the old one kept.
	k2, _ := secret.Parse(newKey + "\n" + oldKey)
	srv, stored = start(k2)
	if !k2.Current(stored) {
		t.Fatal("token not re-sealed with the new key")
	}
	if v, _ := srv.ossIndexSettings(ctx); v.Token != ossToken {
		t.Fatal("re-sealed token does not read back")
	}
	// Loss: another key only.
	srv, _ = start(secret.Ephemeral())
	v, err := srv.ossIndexSettings(ctx)
	if err != nil || v.Token != "" || !ossOut(v).TokenUnreadable {
		t.Fatalf("lost key: %+v %v", ossOut(v), err)
	}
	if src, err := srv.ossIndexSource(ctx); src != nil || err != nil {
		t.Fatalf("an unreadable token still builds a source: %v", err)
	}
}

// TestScanDeadlineOnSlowOSSIndex: an OSS Index that never answers holds a
// scan only until the deadline; the components are "not checked".
func TestScanDeadlineOnSlowOSSIndex(t *testing.T) {
	stop := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	defer upstream.Close()
	defer close(stop)
	e := newEnv(t, func(o *Options) { o.OSSIndexDeadline = 300 * time.Millisecond })
	e.setOSSIndex(upstream.URL)
	res := e.do(auth.Viewer, "POST", "/api/v1/scan", scanRequest{PURLs: []string{"pkg:npm/lodash@4.17.20", "pkg:pypi/django@3.2.0"}})
	wantStatus(t, res, 200)
	if n := strings.Count(string(res.body), "not checked by OSS Index"); n != 2 {
		t.Fatalf("%d components reported not checked, want 2: %s", n, res.body)
	}
}

// TestStoredNVDKeySealedAndRotated: NVD's API key, stored in plain text by
// an older version, is sealed at start-up and re-sealed with the new key
// after a rotation, and still reads back.
func TestStoredNVDKeySealedAndRotated(t *testing.T) {
	ctx := context.Background()
	st, newServer := serverOnStore(t)
	const apiKey = "nvd-api-key-0001"
	src, _ := enrich.Lookup("nvd")
	if err := st.PutSetting(ctx, enrich.SettingName(src.Name), enrich.Settings{Enabled: true, URL: src.DefaultURL, APIKey: apiKey}); err != nil {
		t.Fatal(err)
	}
	start := func(keys *secret.Keyring) (*Server, string) {
		t.Helper()
		srv := newServer(keys)
		v, _, err := enrich.Load(ctx, st, src)
		if err != nil {
			t.Fatal(err)
		}
		return srv, v.APIKey
	}
	oldKey, newKey := secret.NewKey(), secret.NewKey()
	k1, _ := secret.Parse(oldKey)
	srv, stored := start(k1)
	if !secret.IsSealed(stored) || !k1.Current(stored) || strings.Contains(stored, apiKey) {
		t.Fatalf("plain API key not sealed at start-up: %q", stored)
	}
	if v, unreadable, _ := srv.enrichSettings(ctx, src); unreadable || v.APIKey != apiKey {
		t.Fatal("sealed API key does not read back")
	}
	k2, _ := secret.Parse(newKey + "\n" + oldKey)
	srv, stored = start(k2)
	if !k2.Current(stored) {
		t.Fatal("API key not re-sealed with the new key")
	}
	if v, unreadable, _ := srv.enrichSettings(ctx, src); unreadable || v.APIKey != apiKey {
		t.Fatal("re-sealed API key does not read back")
	}
	// Lost key: reads as unreadable, start-up still works.
	srv, _ = start(secret.Ephemeral())
	if _, unreadable, err := srv.enrichSettings(ctx, src); !unreadable || err != nil {
		t.Fatalf("lost key: unreadable %v, %v", unreadable, err)
	}
}

// serverOnStore opens a store in a fresh data directory and returns it with
// a function that starts a server on it with a keyring, as a restart does
// (after a key rotation, say).
func serverOnStore(t *testing.T) (*store.Store, func(*secret.Keyring) *Server) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, func(keys *secret.Keyring) *Server {
		t.Helper()
		srv, err := New(ctx, Options{Store: st, DataDir: dir, AdminPassword: adminPassword, Argon2: fastArgon2, NoStartupJobs: true, Secrets: keys})
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
}
