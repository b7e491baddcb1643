package server

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStatusWriterReadFrom: files served through the statusWriter (as the
// feeds serve cached artifacts, with http.ServeContent and so ReadFrom)
// arrive whole, in ranges and to a slow reader that takes much longer
// than the write timeout, and their bytes are counted.
func TestStatusWriterReadFrom(t *testing.T) {
	body := make([]byte, 16<<20)
	for i := range body {
		body[i] = byte(rand.IntN(256))
	}
	path := filepath.Join(t.TempDir(), "artifact")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	counted := make(chan int, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		rc := http.NewResponseController(w)
		sw.rc, sw.idle = rc, 300*time.Millisecond
		rc.SetWriteDeadline(time.Time{})
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		if r.URL.Query().Has("plain") { // a reader ReadFrom cannot send as a file
			io.Copy(sw, io.LimitReader(struct{ io.Reader }{f}, 100_000))
		} else {
			http.ServeContent(sw, r, "", time.Time{}, f)
		}
		counted <- sw.bytes
	}))
	defer srv.Close()
	get := func(query, rng string, pause time.Duration) []byte {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+query, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got bytes.Buffer
		buf := make([]byte, 256<<10)
		for {
			n, err := io.ReadFull(resp.Body, buf)
			got.Write(buf[:n])
			if err != nil {
				break
			}
			time.Sleep(pause)
		}
		if n := <-counted; n != got.Len() && !strings.Contains(rng, ",") {
			t.Errorf("%s %q: %d bytes counted, %d received", query, rng, n, got.Len())
		}
		return got.Bytes()
	}
	if got := get("", "", 0); !bytes.Equal(got, body) {
		t.Errorf("whole file: %d bytes, not the file", len(got))
	}
	if got := get("", "bytes=1000-70999", 0); !bytes.Equal(got, body[1000:71000]) {
		t.Errorf("range: %d bytes, not the range", len(got))
	}
	if got := get("", "bytes=0-9,100000-100009", 0); !bytes.Contains(got, body[100000:100010]) || !bytes.Contains(got, body[:10]) {
		t.Errorf("two ranges: %q", got)
	}
	if got := get("?plain", "", 0); !bytes.Equal(got, body[:100_000]) {
		t.Errorf("plain reader: %d bytes", len(got))
	}
	// 64 pauses of 25 ms: the transfer lasts several write timeouts and
	// is not cut, since the deadline moves as it progresses.
	start := time.Now()
	if got := get("", "", 25*time.Millisecond); !bytes.Equal(got, body) {
		t.Errorf("slow reader: %d of %d bytes", len(got), len(body))
	}
	if d := time.Since(start); d < time.Second {
		t.Logf("the slow transfer took only %s", d)
	}
}
