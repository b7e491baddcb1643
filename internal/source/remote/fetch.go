package remote

import (
	"context"
	"fmt"
	"io"
)

// Fetch opens url (defaultURL when it is empty), bounding its body to
// maxBytes unless o sets a bound, and parses the body with parse. Errors
// name what is read ("EPSS scores") and, for a body that does not parse,
// the URL as Describe shows it. It returns the URL it read.
func Fetch[T any](ctx context.Context, what, url, defaultURL string, maxBytes int64, o Options, parse func(io.Reader) (T, error)) (T, string, error) {
	var zero T
	if url == "" {
		url = defaultURL
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = maxBytes
	}
	body, err := Open(ctx, url, o)
	if err != nil {
		return zero, url, fmt.Errorf("%s: %w", what, err)
	}
	defer body.Close()
	v, err := parse(body)
	if err != nil {
		return zero, url, fmt.Errorf("%s %s: %w", what, Describe(url), err)
	}
	return v, url, nil
}

// Clip shortens a value quoted from a fetched file for an error message.
func Clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
