package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/notify"
	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// lockedBuffer is a log destination the workers may write concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestChatURLsSealedAtRest: Slack and Teams webhook URLs are credentials.
// Plain ones of an earlier version are sealed at start-up and keep
// working; new ones are sealed as they are saved; the API shows them
// masked, a change that leaves the URL out (or gives it masked) keeps it;
// neither the delivery log nor the logs show them; under a key that does
// not open them the rule says to set the URL again.
func TestChatURLsSealedAtRest(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	const slackToken, teamsToken, newToken = "T0001/B0001/slackTok3n", "teamsTok3n", "newTok3n"
	slackURL := srv.URL + "/services/" + slackToken
	// A Teams URL on a port nobody listens on: its delivery fails.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := l.Addr().String()
	l.Close()
	teamsURL := "http://" + deadAddr + "/webhookb2/" + teamsToken + "?sig=" + teamsToken
	tokens := []string{slackToken, teamsToken, newToken}
	leaks := func(what, text string) {
		t.Helper()
		for _, tok := range tokens {
			if strings.Contains(text, tok) {
				t.Fatalf("%s shows a webhook URL's token %q: %s", what, tok, text)
			}
		}
	}

	// An earlier version stored them in plain text.
	for _, r := range []store.NotifyRule{
		{Name: "slack", Event: notify.EventJobFailed, Kind: notify.KindSlack, URL: slackURL, Enabled: true},
		{Name: "teams", Event: notify.EventJobFailed, Kind: notify.KindTeams, URL: teamsURL, Enabled: true},
	} {
		if _, err := st.SaveNotifyRule(ctx, r, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := secret.Parse(secret.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	svc, err := notify.New(ctx, notify.Options{Store: st, Secrets: keys, Attempts: 1, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	storedRules := func() map[string]store.NotifyRule {
		rs, err := st.NotifyRules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]store.NotifyRule{}
		for _, r := range rs {
			if !secret.IsSealed(r.URL) || !keys.Current(r.URL) {
				t.Fatalf("rule %s: URL stored as %q, want sealed", r.Name, r.URL)
			}
			leaks("the stored rule", r.URL)
			out[r.Name] = r
		}
		return out
	}
	stored := storedRules()

	// The API shows them masked.
	rules, err := svc.ListRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(rules)
	leaks("the rules' JSON", string(js))
	for _, r := range rules {
		want := notify.MaskURL(slackURL)
		if r.Kind == notify.KindTeams {
			want = "http://" + deadAddr + "/…"
		}
		if r.URL != want {
			t.Errorf("rule %s shows URL %q, want %q", r.Name, r.URL, want)
		}
	}

	// Deliveries: the sealed Slack URL is opened and posted to; the Teams
	// failure is logged without its URL.
	svc.JobFailed("osv-mirror", "OSV mirror", "boom")
	waitFor(t, "the Slack post", func() bool { b, _ := rc.got(); return len(b) == 1 })
	waitFor(t, "the failed Teams delivery", func() bool {
		ds, _ := svc.Deliveries(ctx, 10)
		for _, d := range ds {
			if d.RuleName == "teams" && d.Status == "failed" {
				return true
			}
		}
		return false
	})
	ds, _ := svc.Deliveries(ctx, 10)
	for _, d := range ds {
		leaks("delivery "+d.RuleName, d.LastError)
		if d.RuleName == "teams" && !strings.Contains(d.LastError, "(webhook URL)") {
			t.Errorf("teams delivery error %q does not say which URL failed", d.LastError)
		}
	}

	// Changes that leave the URL out or give it masked keep it; enabling
	// keeps it; the rule still posts to it.
	sr := stored["slack"]
	for _, u := range []string{"", notify.MaskURL(slackURL)} {
		got, err := svc.SaveRule(ctx, sr.ID, notify.RuleInput{Name: "slack", Event: notify.EventJobFailed, Kind: notify.KindSlack, URL: u})
		if err != nil {
			t.Fatalf("save with URL %q: %v", u, err)
		}
		leaks("the saved rule", got.URL)
	}
	if _, err := svc.SetEnabled(ctx, sr.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetEnabled(ctx, sr.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := svc.Test(ctx, sr.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the test post to the kept URL", func() bool { b, _ := rc.got(); return len(b) == 2 })

	// A new one is sealed as it is saved.
	created, err := svc.SaveRule(ctx, 0, notify.RuleInput{Name: "new", Event: notify.EventJobFailed, Kind: notify.KindSlack, URL: srv.URL + "/services/" + newToken})
	if err != nil {
		t.Fatal(err)
	}
	if created.URL != notify.MaskURL(slackURL) {
		t.Errorf("created rule shows URL %q", created.URL)
	}
	storedRules()
	svc.Close()
	leaks("the logs", logs.String())

	// Under another key: shown as to be set again, and not posted.
	other, _ := secret.Parse(secret.NewKey())
	svc2, err := notify.New(ctx, notify.Options{Store: st, Secrets: other, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer svc2.Close()
	rules, err = svc2.ListRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if !strings.Contains(r.URL, "set it again") {
			t.Errorf("rule %s under another key shows %q", r.Name, r.URL)
		}
	}
}
