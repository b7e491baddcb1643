package feed

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSharedCacheDirectory: two caches (two instances) over one store and
// one directory, cold, download the same artifact at once many times.
// Every reader gets the whole file, the upstream is asked at most once per
// cache, nothing is left in tmp, and a temporary file left by a dead
// process long ago is removed while a fresh one (another instance's
// download in progress) is kept.
func TestSharedCacheDirectory(t *testing.T) {
	body := make([]byte, 4<<20)
	rand.Read(body)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		for i := 0; i < len(body); i += 64 << 10 { // slowly, in pieces
			w.Write(body[i : i+64<<10])
			w.(http.Flusher).Flush()
			time.Sleep(time.Millisecond)
		}
	}))
	defer srv.Close()
	a, st, f := newTestCache(t, CacheOptions{}, UpstreamOptions{})
	tmp := filepath.Join(a.opts.Dir, "tmp")
	old, fresh := filepath.Join(tmp, "dl-dead"), filepath.Join(tmp, "dl-live")
	os.WriteFile(old, []byte("partial"), 0o600)
	os.WriteFile(fresh, []byte("partial"), 0o600)
	os.Chtimes(old, time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour))
	b, err := NewCache(st, NewUpstream(UpstreamOptions{}), CacheOptions{Dir: a.opts.Dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("a temporary file two days old was kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("a fresh temporary file (another instance's download) was removed: %v", err)
	}
	os.Remove(fresh)

	req := ArtifactRequest{Feed: f, Key: "demo-1.0.0.tgz", URL: func(context.Context) (string, error) { return srv.URL + "/demo-1.0.0.tgz", nil }}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Go(func() {
			art, err := c.Artifact(context.Background(), req)
			if err != nil {
				errs <- err
				return
			}
			got, err := os.ReadFile(art.Path)
			if err != nil || !bytes.Equal(got, body) {
				errs <- &os.PathError{Op: "read", Path: art.Path, Err: os.ErrInvalid}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := hits.Load(); n < 1 || n > 2 {
		t.Fatalf("the upstream was asked %d times by two caches", n)
	}
	// A third instance finds the file through the shared index.
	c, _ := NewCache(st, NewUpstream(UpstreamOptions{}), CacheOptions{Dir: a.opts.Dir})
	before := hits.Load()
	if art, err := c.Artifact(context.Background(), req); err != nil || art.Size != int64(len(body)) || hits.Load() != before {
		t.Fatalf("third instance: %+v %v (upstream asked %d more times)", art, err, hits.Load()-before)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("left in tmp: %v", left)
	}
}
