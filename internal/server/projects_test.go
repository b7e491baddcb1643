package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/notify"
	"github.com/vulngate/vulngate/internal/project"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
	"github.com/vulngate/vulngate/internal/testutil/mailtest"
)

// keycloakNext is the second keycloak version of the walkthrough
// (testdata/README.md): jackson-databind upgraded and the Go module the
// corpus delta's GO-2099-0001 affects added.
const keycloakNext = "../../testdata/keycloak-10.0.3__bom.json"

// synthetic1 is that Go module.
const synthetic1 = "pkg:golang/example.com/osv-corpus/synthetic1@v1.0.0"

// sendFile sends a file's bytes as the raw body of a request as role.
func (e *testEnv) sendFile(role auth.Role, method, path, file string) resp {
	e.t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.sendBody(role, method, path, "", data)
}

// hookReceiver is a real HTTP webhook receiver that keeps what it gets.
type hookReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []hookRequest
	seen chan struct{}
}

type hookRequest struct {
	Body      []byte
	Signature string
	Event     string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{seen: make(chan struct{}, 1)}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, hookRequest{Body: b, Signature: r.Header.Get(notify.SignatureHeader), Event: r.Header.Get("X-Vulngate-Event")})
		h.mu.Unlock()
		select {
		case h.seen <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(h.Close)
	return h
}

// wait returns the requests once there are n, or fails the test after a
// generous deadline (deliveries are asynchronous).
func (h *hookReceiver) wait(t *testing.T, n int) []hookRequest {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		h.mu.Lock()
		got := slices.Clone(h.got)
		h.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-h.seen:
		case <-deadline:
			t.Fatalf("webhook receiver got %d requests, want %d", len(got), n)
		}
	}
}

// TestProjectDeltaNotifies is the flow at the server: two keycloak
// versions uploaded through the API, notification rules for a signed
// webhook and an e-mail (STARTTLS and AUTH against a real SMTP server),
// then an OSV mirror run that brings the corpus delta: the new advisory
// GO-2099-0001 for a component of keycloak 10.0.3 reaches both.
func TestProjectDeltaNotifies(t *testing.T) {
	dir := corpus.Dir(t)
	sboms := corpus.SBOMDir(t)
	mail := mailtest.Start(t, mailtest.Options{TLS: true, User: "vulngate", Password: "smtp-password-1"})
	hook := newHookReceiver(t)
	e := newEnv(t, func(o *Options) { o.NotifyTLS = &tls.Config{RootCAs: mail.Pool} })

	// OSV over HTTP from the corpus (per-record files synthesized), Go and
	// Maven.
	osv := corpus.Serve(t, dir)
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/sources/osv", OSVSettings{Enabled: true, BaseURL: osv.URL, Ecosystems: []string{"Go", "Maven"}}), 200)
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/jobs/osv-mirror/runs", nil), http.StatusAccepted)
	e.srv.Runner().Wait()

	// Two versions: the shared XML SBOM of 10.0.2 and the walkthrough's
	// 10.0.3.
	var up project.UploadResult
	res := e.sendFile(auth.Admin, "PUT", "/api/v1/projects/keycloak/versions/10.0.2?filename=keycloak-10.0.2__bom.xml", filepath.Join(sboms, "keycloak-10.0.2__bom.xml"))
	wantStatus(t, res, 200)
	res.json(t, &up)
	if up.Format != "cyclonedx-xml" || up.Components < 800 || up.Findings == 0 {
		t.Fatalf("upload 10.0.2: %+v", up)
	}
	res = e.sendFile(auth.Admin, "PUT", "/api/v1/projects/keycloak/versions/10.0.3?filename=keycloak-10.0.3__bom.json", keycloakNext)
	wantStatus(t, res, 200)
	res.json(t, &up)
	if up.Format != "cyclonedx-json" || up.Components < 800 {
		t.Fatalf("upload 10.0.3: %+v", up)
	}
	var d project.Diff
	e.do(auth.Viewer, "GET", "/api/v1/projects/keycloak/diff?from=10.0.2&to=10.0.3", nil).json(t, &d)
	if len(d.Fixed) == 0 || len(d.Unchanged) == 0 || slices.ContainsFunc(d.New, func(x project.DiffEntry) bool { return x.VulnID == "GO-2099-0001" }) {
		t.Fatalf("diff before the delta: %d new, %d fixed, %d unchanged", len(d.New), len(d.Fixed), len(d.Unchanged))
	}

	// Notifications: SMTP with STARTTLS and a password; a signed webhook
	// for keycloak, an e-mail for every project.
	smtpPass := "smtp-password-1"
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/notifications/smtp", notify.SMTPInput{Host: mail.Host, Port: mail.Port, Username: "vulngate", Password: &smtpPass, From: "vulngate <vulngate@example.com>", StartTLS: true}), 200)
	secret := "webhook-secret-1"
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/notifications/rules", notify.RuleInput{Name: "keycloak hook", Event: notify.EventNewFinding, Scope: "project:keycloak", Kind: notify.KindWebhook, URL: hook.URL + "/hook", Secret: &secret}), 201)
	wantStatus(t, e.do(auth.Admin, "POST", "/api/v1/notifications/rules", notify.RuleInput{Name: "security mail", Event: notify.EventNewFinding, Scope: "project:*", Kind: notify.KindEmail, Recipients: []string{"security@example.com"}}), 201)

	// The delta: a later snapshot of Go only.
	osv.SetDir(filepath.Join(dir, "delta"))
	wantStatus(t, e.do(auth.Admin, "PUT", "/api/v1/sources/osv", OSVSettings{Enabled: true, BaseURL: osv.URL, Ecosystems: []string{"Go"}}), 200)
	var run runOut
	res = e.do(auth.Admin, "POST", "/api/v1/jobs/osv-mirror/runs", nil)
	wantStatus(t, res, http.StatusAccepted)
	res.json(t, &run)
	e.srv.Runner().Wait()
	var done runOut
	e.do(auth.Admin, "GET", fmt.Sprintf("/api/v1/jobs/osv-mirror/runs/%d", run.ID), nil).json(t, &done)
	if done.Status != "succeeded" || done.Log == nil || !strings.Contains(*done.Log, "portfolio analysed") {
		t.Fatalf("delta run %s: %+v", done.Status, done)
	}

	// The webhook: signed, naming the advisory, the package and the scope.
	got := hook.wait(t, 1)
	if len(got) != 1 {
		t.Fatalf("webhook requests: %d, want 1", len(got))
	}
	if got[0].Signature != notify.Sign(secret, got[0].Body) || got[0].Event != notify.EventNewFinding {
		t.Fatalf("webhook signature %q / event %q do not verify", got[0].Signature, got[0].Event)
	}
	var ev notify.Event
	if err := json.Unmarshal(got[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Scope != "project:keycloak" || len(ev.Findings) != 1 || ev.Findings[0].ID != "GO-2099-0001" || ev.Findings[0].Package != synthetic1 {
		t.Fatalf("webhook body: %s", got[0].Body)
	}

	// The e-mail, over STARTTLS after AUTH.
	msgs := mail.Wait(1, time.Minute)
	if len(msgs) != 1 {
		t.Fatalf("mails: %d, want 1", len(msgs))
	}
	m := msgs[0]
	if !m.TLS || m.From != "vulngate@example.com" || !slices.Equal(m.To, []string{"security@example.com"}) ||
		!strings.Contains(m.Subject, "GO-2099-0001") || !strings.Contains(m.Subject, "project:keycloak") || !strings.Contains(m.Body, "synthetic1") {
		t.Fatalf("mail: %+v", m)
	}

	// The delivery log shows both sent; the project shows the finding.
	var log struct {
		Deliveries []deliveryJSON `json:"deliveries"`
	}
	waitUntil(t, "deliveries logged as sent", func() bool {
		e.do(auth.Admin, "GET", "/api/v1/notifications/deliveries", nil).json(t, &log)
		return len(log.Deliveries) == 2 && log.Deliveries[0].Status == "sent" && log.Deliveries[1].Status == "sent"
	})
	var v project.VersionReport
	e.do(auth.Viewer, "GET", "/api/v1/projects/keycloak/versions/10.0.3", nil).json(t, &v)
	if !slices.ContainsFunc(v.Components, func(c project.ComponentReport) bool {
		return c.PURL == synthetic1 && len(c.Findings) == 1 && c.Findings[0].ID == "GO-2099-0001"
	}) {
		t.Fatal("10.0.3 does not show GO-2099-0001 on synthetic1")
	}
	e.do(auth.Viewer, "GET", "/api/v1/projects/keycloak/diff?from=10.0.2&to=10.0.3", nil).json(t, &d)
	if !slices.ContainsFunc(d.New, func(x project.DiffEntry) bool { return x.VulnID == "GO-2099-0001" }) {
		t.Fatalf("diff after the delta lacks GO-2099-0001: %+v", d.New)
	}
}

// waitUntil polls cond for asynchronous effects, failing after a generous
// deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
