package secret

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// What a backup needs to say about sealed values (internal/backup): which
// keys sealed the values it carries, and whether a restored store's
// keyring holds them.

// KeyIDs returns the IDs of the keys that sealed the values found in text
// (a sealed value may sit inside a JSON document), each once, in order.
func KeyIDs(text string) []string {
	var ids []string
	for {
		i := strings.Index(text, prefix)
		if i < 0 {
			return ids
		}
		text = text[i+len(prefix):]
		id, _, ok := strings.Cut(text, ":")
		if !ok || len(id) != 8 {
			continue
		}
		seen := false
		for _, x := range ids {
			seen = seen || x == id
		}
		if !seen {
			ids = append(ids, id)
		}
	}
}

// Has reports whether the keyring holds the key with this ID.
func (k *Keyring) Has(id string) bool {
	for _, kk := range k.keys {
		if kk.id == id {
			return true
		}
	}
	return false
}

// LoadIfPresent is Load without creating a key file: ok is false when
// neither $VULNGATE_SECRET_KEY nor dataDir's key file exists.
func LoadIfPresent(dataDir string) (k *Keyring, ok bool, err error) {
	if strings.TrimSpace(os.Getenv(EnvKey)) == "" {
		if _, err := os.Stat(filepath.Join(dataDir, KeyFile)); errors.Is(err, os.ErrNotExist) {
			return nil, false, nil
		}
	}
	k, err = Load(dataDir)
	return k, err == nil, err
}
