package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Of the uses of an API key that find its last_used a minute old, one per
// minute writes it (keyUses.claim); the others neither write nor wait.
func TestAPIKeyUseWrittenOncePerMinute(t *testing.T) {
	var k keyUses
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		id   int64
		at   time.Duration
		want bool
	}{{1, 0, true}, {1, 0, false}, {1, 59 * time.Second, false}, {2, 30 * time.Second, true}, {1, time.Minute, true}, {1, 30 * time.Second, true}} {
		if got := k.claim(c.id, at.Add(c.at)); got != c.want {
			t.Errorf("claim(%d, +%v) = %v, want %v", c.id, c.at, got, c.want)
		}
	}

	engines(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		id, err := s.CreateUser(ctx, User{Username: "ci", Role: "viewer", PasswordHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateAPIKey(ctx, id, "ci", "vg_x", "hash-x"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.APIKeyUser(ctx, "hash-x", now); err != nil {
			t.Fatal(err)
		}
		later := now.Add(2 * time.Minute)
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if u, err := s.APIKeyUser(ctx, "hash-x", later); err != nil || u.ID != id {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("a concurrent use failed: %v", err)
		}
		if keys, err := s.APIKeys(ctx, id); err != nil || len(keys) != 1 || !keys[0].LastUsed.Equal(later) {
			t.Fatalf("last used after the concurrent uses: %+v, %v; want %v", keys, err, later)
		}
		if s.keyUses.claim(keys0(t, s, id), later.Add(time.Second)) {
			t.Error("a use a second after the written one may write again")
		}
	})
}

func keys0(t *testing.T, s *Store, user int64) int64 {
	keys, err := s.APIKeys(context.Background(), user)
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys: %v", err)
	}
	return keys[0].ID
}
