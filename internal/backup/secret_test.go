package backup

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// Sealed secrets travel sealed: the manifest names their key, which is
// not in the file, and a restore says when its target cannot open them.
func TestSealedSecretsCarriedSealed(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	ctx := context.Background()
	srcDir := t.TempDir()
	keys, err := secret.Load(srcDir) // creates srcDir/secret.key
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := keys.Seal("setting:source.ossindex.token", "the-token")
	if err != nil {
		t.Fatal(err)
	}
	src := storetest.Open(t, store.Options{DataDir: srcDir})
	populate(t, src)
	if err := src.PutSetting(ctx, "source.ossindex", map[string]any{"enabled": true, "token": sealed}); err != nil {
		t.Fatal(err)
	}
	file, m := backupFile(t, src, Options{})
	ids := secret.KeyIDs(sealed)
	if len(m.Sealed) != 1 || m.Sealed[ids[0]] != 1 {
		t.Fatalf("manifest sealed = %v, want key %v once", m.Sealed, ids)
	}
	if n := strings.Join(m.Notes, " "); !strings.Contains(n, ids[0]) || !strings.Contains(n, "NOT in this file") {
		t.Errorf("notes do not name the key: %q", m.Notes)
	}
	raw, _ := os.ReadFile(file)
	key, _ := os.ReadFile(filepath.Join(srcDir, secret.KeyFile))
	if strings.Contains(string(raw), "the-token") {
		t.Error("the secret is in the backup in clear")
	}
	for _, line := range strings.Split(string(key), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && strings.Contains(string(raw), line) {
			t.Error("the key is in the backup")
		}
	}

	// A data directory without the key: reported.
	bare := t.TempDir()
	res, err := Restore(ctx, file, store.Options{DataDir: bare}, RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.MissingKeys, ids) {
		t.Errorf("missing keys %v, want %v", res.MissingKeys, ids)
	}
	if _, err := os.Stat(filepath.Join(bare, secret.KeyFile)); err == nil {
		t.Error("the restore created a key file")
	}
	// With the source's key file: the restored token opens.
	withKey := t.TempDir()
	os.WriteFile(filepath.Join(withKey, secret.KeyFile), key, 0o600)
	res, err = Restore(ctx, file, store.Options{DataDir: withKey}, RestoreOptions{})
	if err != nil || len(res.MissingKeys) != 0 {
		t.Fatalf("restore with the key: %v, missing %v", err, res.MissingKeys)
	}
	dst := openTarget(t, store.Options{DataDir: withKey})
	var got struct{ Token string }
	if _, err := dst.Setting(ctx, "source.ossindex", &got); err != nil {
		t.Fatal(err)
	}
	k2, err := secret.Load(withKey)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := k2.Open("setting:source.ossindex.token", got.Token); err != nil || tok != "the-token" {
		t.Fatalf("restored token opens to %q, %v", tok, err)
	}
}
