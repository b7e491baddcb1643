package secret

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	old := NewKey()
	k1, err := Parse(old)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k1.Seal("setting:x", "s3cret-token")
	if err != nil || !IsSealed(sealed) || strings.Contains(sealed, "s3cret") {
		t.Fatalf("sealed %q, %v", sealed, err)
	}
	if again, _ := k1.Seal("setting:x", "s3cret-token"); again == sealed {
		t.Fatal("sealing twice gave the same text (nonce reuse)")
	}
	if pt, err := k1.Open("setting:x", sealed); err != nil || pt != "s3cret-token" {
		t.Fatalf("open: %q, %v", pt, err)
	}
	if _, err := k1.Open("setting:y", sealed); err == nil {
		t.Fatal("opened for another purpose")
	}
	if _, err := k1.Open("setting:x", sealed[:len(sealed)-2]+"AA"); err == nil {
		t.Fatal("opened an altered value")
	}
	if _, err := k1.Open("setting:x", "plain"); !errors.Is(err, ErrNotSealed) {
		t.Fatalf("plain value: %v", err)
	}
	if v, err := k1.Seal("p", ""); v != "" || err != nil {
		t.Fatal("empty secrets stay empty")
	}
	// Rotation: a new key first, the old one after.
	k2, err := Parse(NewKey() + "\n# old key\n" + old + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k2.Open("setting:x", sealed); err != nil || pt != "s3cret-token" || k2.Current(sealed) {
		t.Fatalf("after rotation: %q, %v, current %v", pt, err, k2.Current(sealed))
	}
	resealed, _ := k2.Seal("setting:x", "s3cret-token")
	if !k2.Current(resealed) {
		t.Fatal("resealed value not under the first key")
	}
	// Loss: a keyring without the sealing key says so.
	if _, err := Ephemeral().Open("setting:x", sealed); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := Parse("not base64!"); err == nil {
		t.Fatal("bad key accepted")
	}
	if _, err := Parse(base64.StdEncoding.EncodeToString([]byte("short"))); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestLoad(t *testing.T) {
	t.Setenv(EnvKey, "")
	dir := t.TempDir()
	k, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeyFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v mode %v", err, fi.Mode())
	}
	sealed, _ := k.Seal("p", "v")
	// A second load reads the same key; a wide mode is tightened.
	os.Chmod(path, 0o644)
	k2, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k2.Open("p", sealed); err != nil || pt != "v" {
		t.Fatalf("reloaded: %q %v", pt, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode left at %v", fi.Mode())
	}
	// The variable wins over the file.
	t.Setenv(EnvKey, NewKey())
	k3, err := Load(dir)
	if err != nil || k3.Origin != "$"+EnvKey {
		t.Fatalf("env: %v %v", k3, err)
	}
	if _, err := k3.Open("p", sealed); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("env key opened the file key's value: %v", err)
	}
	t.Setenv(EnvKey, "nonsense")
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), EnvKey) {
		t.Fatalf("bad variable: %v", err)
	}
}

func TestRedact(t *testing.T) {
	user, tok := "alice@example.com", "tok+en/with=chars"
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + tok))
	text := "echo: Authorization: Basic " + basic + " / Bearer " + tok + " / q=tok%2Ben%2Fwith%3Dchars / " +
		base64.RawURLEncoding.EncodeToString([]byte(user+":"+tok)) + " / " + base64.StdEncoding.EncodeToString([]byte(tok))
	got := Redact(text, Forms(user, tok))
	for _, f := range Forms(user, tok) {
		if strings.Contains(got, f) {
			t.Errorf("left %q in %q", f, got)
		}
	}
	if strings.Count(got, Redacted) != 5 {
		t.Errorf("redacted %q", got)
	}
	if Forms("u", "") != nil {
		t.Error("forms of no token")
	}
}

func TestKeyIDsAndHas(t *testing.T) {
	k, err := Parse(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := k.Seal("p", "one")
	b, _ := k.Seal("p", "two")
	doc := `{"token":"` + a + `","other":"` + b + `","plain":"vgsealed1:short"}`
	ids := KeyIDs(doc)
	if len(ids) != 1 || !k.Has(ids[0]) || k.Has("00000000") {
		t.Fatalf("KeyIDs = %v", ids)
	}
	if got := KeyIDs("nothing sealed"); len(got) != 0 {
		t.Fatalf("KeyIDs of plain text = %v", got)
	}
	dir := t.TempDir()
	t.Setenv(EnvKey, "")
	if _, ok, err := LoadIfPresent(dir); ok || err != nil {
		t.Fatalf("LoadIfPresent on an empty directory: %v %v", ok, err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
		t.Fatal("LoadIfPresent created a key file")
	}
}
