package notify_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/notify"
	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// TestSecretsSealedAtRest: webhook secrets and the SMTP password are
// stored sealed with the keyring; plain ones of an earlier version are
// sealed at start-up and keep working; after a key rotation they are
// re-sealed with the new key; under a key that does not open them a
// delivery fails asking to set the secret again, without revealing it.
func TestSecretsSealedAtRest(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	k1key := secret.NewKey()
	k1, err := secret.Parse(k1key)
	if err != nil {
		t.Fatal(err)
	}
	stored := func() (store.NotifyRule, notify.SMTP) {
		rs, err := st.NotifyRules(ctx)
		if err != nil || len(rs) != 1 {
			t.Fatalf("rules: %v %v", rs, err)
		}
		var c notify.SMTP
		if _, err := st.Setting(ctx, notify.SMTPSetting, &c); err != nil {
			t.Fatal(err)
		}
		return rs[0], c
	}

	// An earlier version stored them in plain text.
	if _, err := st.SaveNotifyRule(ctx, store.NotifyRule{Name: "hook", Event: notify.EventJobFailed, Kind: notify.KindWebhook, URL: srv.URL, Secret: "plain:old-secret", Enabled: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.PutSetting(ctx, notify.SMTPSetting, notify.SMTP{Host: "127.0.0.1", Port: 25, Username: "u", Password: "plain:mail-password", From: "vg@example.com", StartTLS: true}); err != nil {
		t.Fatal(err)
	}
	svc, err := notify.New(ctx, notify.Options{Store: st, Secrets: k1})
	if err != nil {
		t.Fatal(err)
	}
	r, c := stored()
	if !secret.IsSealed(r.Secret) || !k1.Current(r.Secret) || !secret.IsSealed(c.Password) || strings.Contains(r.Secret+c.Password, "old-secret") || strings.Contains(c.Password, "mail-password") {
		t.Fatalf("stored after start-up: %q %q", r.Secret, c.Password)
	}
	svc.JobFailed("osv-mirror", "OSV mirror", "boom")
	waitFor(t, "a signed delivery", func() bool { b, _ := rc.got(); return len(b) == 1 })
	bodies, sigs := rc.got()
	if sigs[0] != notify.Sign("old-secret", bodies[0]) {
		t.Fatal("the sealed secret does not sign as the plain one did")
	}
	// A new secret is sealed as it is saved.
	newSecret := "new-secret"
	if _, err := svc.SaveRule(ctx, r.ID, notify.RuleInput{Name: "hook", Event: notify.EventJobFailed, Kind: notify.KindWebhook, URL: srv.URL, Secret: &newSecret}); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	if r, _ := stored(); !secret.IsSealed(r.Secret) || strings.Contains(r.Secret, newSecret) {
		t.Fatalf("saved secret stored as %q", r.Secret)
	}

	// Rotation: a new first key re-seals at start-up.
	k2only := secret.NewKey()
	both, err := secret.Parse(k2only + "\n" + k1key)
	if err != nil {
		t.Fatal(err)
	}
	svc, err = notify.New(ctx, notify.Options{Store: st, Secrets: both})
	if err != nil {
		t.Fatal(err)
	}
	svc.Close()
	r, c = stored()
	if !both.Current(r.Secret) || !both.Current(c.Password) {
		t.Fatal("secrets not re-sealed with the new key")
	}

	// Without a key that opens them: the delivery fails, saying so.
	other, _ := secret.Parse(secret.NewKey())
	svc, err = notify.New(ctx, notify.Options{Store: st, Secrets: other, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	svc.JobFailed("osv-mirror", "OSV mirror", "boom")
	waitFor(t, "the failed delivery", func() bool {
		ds, _ := svc.Deliveries(ctx, 10)
		return len(ds) > 0 && ds[0].Status == "failed"
	})
	ds, _ := svc.Deliveries(ctx, 10)
	if !strings.Contains(ds[0].LastError, "set it again") || strings.Contains(ds[0].LastError, newSecret) {
		t.Fatalf("delivery error: %q", ds[0].LastError)
	}
}
