package proxy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/feed/feedtest"
	"github.com/vulngate/vulngate/internal/feed/proxy"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/pgtest"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// tinyDisk mounts a 64 KiB tmpfs for the artifact cache, so writes fail
// with a real ENOSPC. It needs root (CI runs as root); elsewhere the test
// is skipped loudly.
func tinyDisk(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("SKIPPING: cannot mount a small tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// TestArtifactCacheDiskFull: the artifact cache's file system is full.
// Downloads that do not fit fail with 507 and a message saying so;
// metadata is still served, nothing half-written is left behind, and
// artifacts that fit are still served. It runs on both engines.
func TestArtifactCacheDiskFull(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		disk := tinyDisk(t)
		up := feedtest.NewUpstream(t)
		big := make([]byte, 256<<10)
		rand.Read(big)
		small := []byte("a small tarball")
		for _, p := range []struct {
			name string
			body []byte
		}{{"bigpkg", big}, {"smallpkg", small}} {
			path := fmt.Sprintf("/%s/-/%s-1.0.0.tgz", p.name, p.name)
			up.Put(path, "application/octet-stream", p.body)
			up.Put("/"+p.name, "application/json", fmt.Appendf(nil, `{"name":%q,"dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":%q,"version":"1.0.0","dist":{"tarball":%q}}}}`, p.name, p.name, up.URL+path))
		}
		if err := st.CreateFeed(ctx, store.Feed{Name: "npm", Type: "npm", Upstream: up.URL, Sources: []string{"osv"}, Unassessed: "allow", MetadataTTL: time.Minute}, time.Now()); err != nil {
			t.Fatal(err)
		}
		h, err := proxy.New(proxy.Options{Store: st, DataDir: t.TempDir(), Cache: feed.CacheOptions{Dir: disk}})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		mux := http.NewServeMux()
		mux.Handle(proxy.Prefix, h)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		get := func(path string) (int, string, []byte) {
			t.Helper()
			res, err := http.Get(srv.URL + "/feeds/npm" + path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, res.Status, b
		}
		if code, _, body := get("/bigpkg"); code != 200 || !bytes.Contains(body, []byte("bigpkg-1.0.0.tgz")) {
			t.Fatalf("metadata: %d %s", code, body)
		}
		code, status, body := get("/bigpkg/-/bigpkg-1.0.0.tgz")
		if code != http.StatusInsufficientStorage || !strings.Contains(string(body)+status, "disk is full") {
			t.Fatalf("download on a full disk: %s %s", status, body)
		}
		// Metadata is still served, from the cache and from the upstream.
		if code, _, _ := get("/bigpkg"); code != 200 {
			t.Fatalf("cached metadata after the failure: %d", code)
		}
		if code, _, _ := get("/smallpkg"); code != 200 {
			t.Fatalf("new metadata after the failure: %d", code)
		}
		// No partial file stays behind to eat the space.
		var left int64
		filepath.Walk(disk, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				left += fi.Size()
			}
			return nil
		})
		if left != 0 {
			t.Fatalf("%d bytes left on the cache disk after the failed download", left)
		}
		if code, _, body := get("/smallpkg/-/smallpkg-1.0.0.tgz"); code != 200 || !bytes.Equal(body, small) {
			t.Fatalf("a download that fits: %d %q", code, body)
		}
	})
}
