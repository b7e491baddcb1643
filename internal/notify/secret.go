package notify

import (
	"crypto/tls"
	"errors"
	"mime"
	"strings"
)

type tlsConfig = tls.Config

var mimeWord = mime.QEncoding

// Secrets (webhook secrets, the SMTP password) pass through sealSecret
// before they are stored and openSecret when they are used: the one place
// that will encrypt them at rest once the store offers it (issue 12). Until
// then they are stored marked as plain, and never returned by the API.
const plainPrefix = "plain:"

func sealSecret(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	return plainPrefix + s, nil
}

func openSecret(s string) (string, error) {
	if v, ok := strings.CutPrefix(s, plainPrefix); ok {
		return v, nil
	}
	return "", errors.New("a stored secret could not be read; set it again")
}
