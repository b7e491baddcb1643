package notify_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/notify"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/mailtest"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// receiver is a real HTTP receiver that fails its first `fail` requests.
type receiver struct {
	mu     sync.Mutex
	fail   int
	bodies [][]byte
	sigs   []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.fail > 0 {
		rc.fail--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	rc.bodies = append(rc.bodies, b)
	rc.sigs = append(rc.sigs, r.Header.Get(notify.SignatureHeader))
}

func (rc *receiver) got() ([][]byte, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([][]byte(nil), rc.bodies...), append([]string(nil), rc.sigs...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeliveries(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mail := mailtest.Start(t, mailtest.Options{TLS: true, User: "vg", Password: "mail-secret"})
		hook := &receiver{fail: 2}
		slack, teams := &receiver{}, &receiver{}
		for _, rc := range []*receiver{hook, slack, teams} {
			srv := httptest.NewServer(rc)
			t.Cleanup(srv.Close)
			switch rc {
			case hook:
				hookURL = srv.URL
			case slack:
				slackURL = srv.URL
			case teams:
				teamsURL = srv.URL
			}
		}
		svc, err := notify.New(ctx, notify.Options{Store: st, Backoff: 10 * time.Millisecond, Attempts: 4, TLS: &tls.Config{RootCAs: mail.Pool}, BaseURL: "https://vulngate.example.com/"})
		if err != nil {
			t.Fatal(err)
		}
		defer svc.Close()
		host, portN := mail.Host, mail.Port
		pw := "mail-secret"
		if _, err := svc.SetSMTP(ctx, notify.SMTPInput{Host: host, Port: portN, Username: "vg", Password: &pw, From: "vulngate <vg@example.com>"}); !errors.Is(err, notify.ErrInvalid) {
			t.Fatalf("password without STARTTLS accepted: %v", err)
		}
		view, err := svc.SetSMTP(ctx, notify.SMTPInput{Host: host, Port: portN, Username: "vg", Password: &pw, From: "vulngate <vg@example.com>", StartTLS: true})
		if err != nil || !view.PasswordSet {
			t.Fatalf("smtp: %+v %v", view, err)
		}
		raw, _ := json.Marshal(view)
		if strings.Contains(string(raw), pw) {
			t.Fatal("the SMTP password is shown")
		}
		secret := "hook-secret"
		rules := []notify.RuleInput{
			{Name: "hook", Event: notify.EventNewFinding, Scope: "project:*", MinSeverity: "HIGH", Kind: notify.KindWebhook, URL: hookURL, Secret: &secret},
			{Name: "slack", Event: notify.EventNewFinding, Scope: "project:keycloak", Kind: notify.KindSlack, URL: slackURL},
			{Name: "teams", Event: notify.EventJobFailed, Kind: notify.KindTeams, URL: teamsURL},
			{Name: "mail", Event: notify.EventNewFinding, Kind: notify.KindEmail, Recipients: []string{"sec@example.com"}},
		}
		for _, in := range rules {
			r, err := svc.SaveRule(ctx, 0, in)
			if err != nil {
				t.Fatal(in.Name, err)
			}
			if raw, _ := json.Marshal(r); strings.Contains(string(raw), secret) {
				t.Fatal("a webhook secret is shown")
			}
		}
		if _, err := svc.SaveRule(ctx, 0, notify.RuleInput{Name: "bad", Event: "nope", Kind: notify.KindWebhook, URL: "ftp://x"}); !errors.Is(err, notify.ErrInvalid) {
			t.Fatalf("bad rule: %v", err)
		}

		ev := notify.NewFindings("project:keycloak", []store.StoredFinding{
			{VulnID: "GO-2099-0001", IDs: []string{"GO-2099-0001"}, Rating: "MEDIUM", Summary: "synthetic <script>", PURL: "pkg:golang/example.com/s@v1.0.0"},
			{VulnID: "CVE-2020-1", IDs: []string{"CVE-2020-1", "GHSA-x"}, Rating: "CRITICAL", Summary: "bad", PURL: "pkg:maven/a/b@1"},
		})
		svc.Publish(ev) // never blocks: TestQueueNeverBlocks
		svc.JobFailed("osv-mirror", "OSV mirror", "Go: connection refused")

		waitFor(t, "webhook (after two failures)", func() bool { b, _ := hook.got(); return len(b) == 1 })
		bodies, sigs := hook.got()
		if sigs[0] != notify.Sign(secret, bodies[0]) {
			t.Fatalf("signature %q does not verify", sigs[0])
		}
		var got notify.Event
		json.Unmarshal(bodies[0], &got)
		if got.Kind != notify.EventNewFinding || len(got.Findings) != 1 || got.Findings[0].ID != "CVE-2020-1" || got.Link != "https://vulngate.example.com/projects/keycloak" {
			t.Fatalf("webhook body (threshold HIGH): %s", bodies[0])
		}
		waitFor(t, "slack", func() bool { b, _ := slack.got(); return len(b) == 1 })
		if b, _ := slack.got(); !strings.Contains(string(b[0]), `"text"`) || !strings.Contains(string(b[0]), "GO-2099-0001") ||
			!strings.Contains(string(b[0]), `synthetic \u0026lt;script\u0026gt;`) || !strings.Contains(string(b[0]), `\u003chttps://vulngate.example.com/projects/keycloak|Open in vulngate\u003e`) {
			t.Fatalf("slack body: %s", b[0])
		}
		waitFor(t, "teams", func() bool { b, _ := teams.got(); return len(b) == 1 })
		if b, _ := teams.got(); !strings.Contains(string(b[0]), "MessageCard") || !strings.Contains(string(b[0]), "osv-mirror") && !strings.Contains(string(b[0]), "OSV mirror") ||
			!strings.Contains(string(b[0]), `"uri":"https://vulngate.example.com/admin/jobs"`) {
			t.Fatalf("teams body: %s", b[0])
		}
		waitFor(t, "e-mail", func() bool { return len(mail.Messages()) == 1 })
		m := mail.Messages()[0]
		if !m.TLS || m.From != "vg@example.com" || len(m.To) != 1 || !strings.Contains(m.Body, "GO-2099-0001") || !strings.Contains(m.Subject, "2 new finding(s) in project:keycloak") ||
			!strings.Contains(m.Body, "Open in vulngate: https://vulngate.example.com/projects/keycloak") {
			t.Fatalf("mail: %+v", m)
		}

		waitFor(t, "delivery log", func() bool {
			ds, _ := svc.Deliveries(ctx, 10)
			sent := 0
			for _, d := range ds {
				if d.Status == "sent" {
					sent++
				}
			}
			return sent == 4
		})
		ds, _ := svc.Deliveries(ctx, 10)
		for _, d := range ds {
			if d.RuleName == "hook" && d.Attempts != 3 {
				t.Fatalf("hook delivery attempts: %+v", d)
			}
		}

		// A receiver that never accepts ends failed after every attempt,
		// without the event waiting for it.
		hook.mu.Lock()
		hook.fail = 100
		hook.mu.Unlock()
		svc.Publish(ev)
		waitFor(t, "failed delivery", func() bool {
			ds, _ := svc.Deliveries(ctx, 20)
			for _, d := range ds {
				if d.RuleName == "hook" && d.Status == "failed" && d.Attempts == 4 && strings.Contains(d.LastError, "503") {
					return true
				}
			}
			return false
		})
	})
}

var hookURL, slackURL, teamsURL string

// TestQueueNeverBlocks: with the only worker stuck on a receiver and the
// queue full, Publish drops (and counts) instead of waiting; a blocking
// Publish would hang this test. The queued events are logged for the next
// start when the service stops.
func TestQueueNeverBlocks(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	svc, err := notify.New(ctx, notify.Options{Store: st, QueueSize: 2, Workers: 1, Attempts: 1, HTTPClient: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SaveRule(ctx, 0, notify.RuleInput{Name: "slow", Event: notify.EventJobFailed, Kind: notify.KindWebhook, URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		svc.JobFailed("osv-mirror", "OSV mirror", "boom")
	}
	if svc.Dropped() < 17 {
		t.Fatalf("dropped %d, want at least 17", svc.Dropped())
	}
	svc.Close()
	ds, err := st.NotifyDeliveries(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ds); n < 2 || n > 3 {
		t.Fatalf("%d deliveries logged at the shutdown, want the queue (2) and the one in progress", n)
	}
	for _, d := range ds {
		if d.Status != store.DeliveryQueued {
			t.Fatalf("delivery %+v, want queued", d)
		}
	}
}
