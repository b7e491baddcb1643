package backup

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/notify"
	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// A Slack webhook URL (a credential) travels sealed and, restored with
// the source's key file, still opens (the rule shows its masked URL,
// which takes opening it).
func TestChatURLCarriedSealed(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	ctx := context.Background()
	srcDir := t.TempDir()
	keys, err := secret.Load(srcDir)
	if err != nil {
		t.Fatal(err)
	}
	src := storetest.Open(t, store.Options{DataDir: srcDir})
	svc, err := notify.New(ctx, notify.Options{Store: src, Secrets: keys})
	if err != nil {
		t.Fatal(err)
	}
	const token = "T0001/B0001/chatTok3n"
	chatURL := "https://chat.example.test/services/" + token
	if _, err := svc.SaveRule(ctx, 0, notify.RuleInput{Name: "chat", Event: notify.EventJobFailed, Kind: notify.KindSlack, URL: chatURL}); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	file, m := backupFile(t, src, Options{})
	if len(m.Sealed) != 1 {
		t.Fatalf("manifest sealed = %v, want the source's key", m.Sealed)
	}
	raw, _ := os.ReadFile(file)
	if strings.Contains(string(raw), token) {
		t.Fatal("the Slack URL is in the backup in clear")
	}

	withKey := t.TempDir()
	key, _ := os.ReadFile(filepath.Join(srcDir, secret.KeyFile))
	os.WriteFile(filepath.Join(withKey, secret.KeyFile), key, 0o600)
	res, err := Restore(ctx, file, store.Options{DataDir: withKey}, RestoreOptions{})
	if err != nil || len(res.MissingKeys) != 0 {
		t.Fatalf("restore with the key: %v, missing %v", err, res.MissingKeys)
	}
	dst := openTarget(t, store.Options{DataDir: withKey})
	k2, err := secret.Load(withKey)
	if err != nil {
		t.Fatal(err)
	}
	svc2, err := notify.New(ctx, notify.Options{Store: dst, Secrets: k2})
	if err != nil {
		t.Fatal(err)
	}
	defer svc2.Close()
	rules, err := svc2.ListRules(ctx)
	if err != nil || len(rules) != 1 {
		t.Fatalf("restored rules %v, %v", rules, err)
	}
	if rules[0].URL != "https://chat.example.test/…" {
		t.Fatalf("restored rule shows %q, want the masked URL", rules[0].URL)
	}
}
