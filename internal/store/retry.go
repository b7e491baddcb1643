package store

import (
	"context"
	"time"
)

// Retry calls fn until it succeeds, fails for another reason than the
// database being unavailable (see IsUnavailable), or ctx ends; between
// attempts it waits from 100ms, doubling up to 2s. It returns fn's last
// error (or ctx's when ctx ended first).
func Retry(ctx context.Context, fn func(ctx context.Context) error) error {
	wait := 100 * time.Millisecond
	for {
		err := fn(ctx)
		if err == nil || !IsUnavailable(err) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
	}
}
