// Package secret keeps secrets at rest sealed, and out of text that
// leaves the process. Seal and Open encrypt write-only settings (the OSS
// Index token, webhook secrets, an SMTP password) with AES-256-GCM under a
// key kept outside the database: $VULNGATE_SECRET_KEY when set, else the
// key file secret.key in the data directory (created with a new random key
// and mode 0600 on first use). A database copy alone, or a backup of it,
// does not reveal them. Forms and Redact remove every form of a
// credential (raw, URL-escaped, Basic and Bearer authorization values)
// from text that came back from an upstream.
//
// Rotation: put a new key first (the first line of the key file, or the
// first of the comma-separated keys in the variable) and keep the old one
// after it; values are sealed with the first key and opened with whichever
// key sealed them (the sealed form names the key by a short digest), and
// callers re-seal with the first key when they next write (the server
// does at start-up). Once nothing is sealed with the old key, remove it.
// Loss: without the key a sealed value cannot be opened; the secret must
// be entered again, nothing else is lost. Several instances sharing one
// database need the same key: set $VULNGATE_SECRET_KEY on each.
//
// It leaves out keys held by an external KMS or HSM, and sealing whole
// tables or backups.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the key file's name in the data directory.
const KeyFile = "secret.key"

// EnvKey names the variable that holds the keys (base64, 32 bytes each,
// comma-separated, newest first); it takes precedence over the key file.
const EnvKey = "VULNGATE_SECRET_KEY"

// prefix marks a sealed value: prefix + key id + ":" + base64(nonce|ciphertext).
const prefix = "vgsealed1:"

var (
	// ErrUnknownKey: the value was sealed with a key this keyring lacks.
	ErrUnknownKey = errors.New("sealed with a key this server does not have")
	// ErrNotSealed: the value is not in the sealed form.
	ErrNotSealed = errors.New("not a sealed value")
)

// Keyring holds the keys: the first seals, all open.
type Keyring struct {
	keys []key
	// Origin says where the keys came from, for logs ("$VULNGATE_SECRET_KEY",
	// a file path, "ephemeral").
	Origin string
}

type key struct {
	id   string
	aead cipher.AEAD
}

// NewKey returns a new random key, encoded as the key file and the
// variable hold it.
func NewKey() string {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic("secret: no randomness: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Parse reads keys separated by newlines or commas; blank lines and lines
// starting with "#" are skipped.
func Parse(text string) (*Keyring, error) {
	k := &Keyring{}
	var fields []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); !strings.HasPrefix(line, "#") {
			fields = append(fields, strings.Split(line, ",")...)
		}
	}
	for _, line := range fields {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("secret key %d: want 32 bytes in base64 (e.g. from \"openssl rand -base64 32\")", len(k.keys)+1)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(raw)
		k.keys = append(k.keys, key{id: hex.EncodeToString(sum[:4]), aead: aead})
	}
	if len(k.keys) == 0 {
		return nil, errors.New("no secret key given")
	}
	return k, nil
}

// Load returns the keyring from $VULNGATE_SECRET_KEY when it is set, else
// from dataDir's key file, creating it (mode 0600, a new key) when it is
// missing and tightening its mode to 0600 when it is wider.
func Load(dataDir string) (*Keyring, error) {
	if v := os.Getenv(EnvKey); strings.TrimSpace(v) != "" {
		k, err := Parse(v)
		if err != nil {
			return nil, fmt.Errorf("$%s: %w", EnvKey, err)
		}
		k.Origin = "$" + EnvKey
		return k, nil
	}
	path := filepath.Join(dataDir, KeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := writeNewKey(path); err != nil {
			return nil, err
		}
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, fmt.Errorf("secret key file %s is readable by others and cannot be restricted: %w", path, err)
		}
	}
	k, err := Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	k.Origin = path
	return k, nil
}

func writeNewKey(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil // another process made it first
	}
	if err != nil {
		return fmt.Errorf("secret key file: %w", err)
	}
	_, err = fmt.Fprintf(f, "# vulngate secret key: seals stored secrets (OSS Index token, ...).\n# Back it up apart from the database; see docs/server.md, \"Security\".\n%s\n", NewKey())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Ephemeral is a keyring with a random key held in memory only: values
// sealed with it are lost when the process ends (for servers without a
// data directory, and tests).
func Ephemeral() *Keyring {
	k, _ := Parse(NewKey())
	k.Origin = "ephemeral"
	return k
}

// IsSealed reports whether v is in the sealed form.
func IsSealed(v string) bool { return strings.HasPrefix(v, prefix) }

// Seal encrypts plaintext for purpose (a label such as
// "setting:source.ossindex.token": a value sealed for one purpose does not
// open for another). "" stays "".
func (k *Keyring) Seal(purpose, plaintext string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	cur := k.keys[0]
	nonce := make([]byte, cur.aead.NonceSize())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return "", err
	}
	ct := cur.aead.Seal(nonce, nonce, []byte(plaintext), []byte(purpose))
	return prefix + cur.id + ":" + base64.RawStdEncoding.EncodeToString(ct), nil
}

// Open decrypts a sealed value for purpose. "" stays "".
func (k *Keyring) Open(purpose, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", ErrNotSealed
	}
	id, body, ok := strings.Cut(rest, ":")
	if !ok {
		return "", ErrNotSealed
	}
	for _, kk := range k.keys {
		if kk.id != id {
			continue
		}
		ct, err := base64.RawStdEncoding.DecodeString(body)
		if err != nil || len(ct) < kk.aead.NonceSize() {
			return "", ErrNotSealed
		}
		n := kk.aead.NonceSize()
		pt, err := kk.aead.Open(nil, ct[:n], ct[n:], []byte(purpose))
		if err != nil {
			return "", fmt.Errorf("sealed value (key %s) does not open: altered, or sealed for another use", id)
		}
		return string(pt), nil
	}
	return "", fmt.Errorf("%w (key %s; this server holds %s)", ErrUnknownKey, id, k.ids())
}

// Current reports whether sealed was sealed with the first key (else it
// should be sealed again).
func (k *Keyring) Current(sealed string) bool {
	return strings.HasPrefix(sealed, prefix+k.keys[0].id+":")
}

func (k *Keyring) ids() string {
	var ids []string
	for _, kk := range k.keys {
		ids = append(ids, kk.id)
	}
	return strings.Join(ids, ", ")
}
