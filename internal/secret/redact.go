package secret

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
)

// Redacted replaces a secret in text.
const Redacted = "[REDACTED]"

// Forms lists the ways a credential can appear in text an upstream echoes
// back (an error page repeating the request's headers, say): the token,
// URL-escaped, base64 of the token, and base64 of "user:token" as HTTP
// Basic authorization carries it, in the standard and URL alphabets, with
// and without padding. Forms shorter than 4 bytes are left out.
func Forms(user, token string) []string {
	if token == "" {
		return nil
	}
	cands := []string{token, url.QueryEscape(token), url.PathEscape(token)}
	for _, raw := range []string{token, user + ":" + token} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			cands = append(cands, enc.EncodeToString([]byte(raw)))
		}
	}
	var out []string
	for _, c := range cands {
		if len(c) >= 4 && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	// Longest first, so that a form containing another is replaced whole.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// Redact replaces every form in text with Redacted.
func Redact(text string, forms []string) string {
	for _, f := range forms {
		text = strings.ReplaceAll(text, f, Redacted)
	}
	return text
}
