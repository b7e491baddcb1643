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

// deadlines stands between a statusWriter and the connection. It keeps
// the write deadlines the statusWriter sets instead of setting them on the
// connection: a real deadline cuts the transfer whenever the test's reader
// is not scheduled for a write timeout, as happens under load. Instead it
// checks, before each write, the deadline a connection would have: at
// least idle less the statusWriter's quarter of idle (at most a second)
// after the previous write ended, so that no write is cut unless it stalls
// that long, however long the transfer lasts.
type deadlines struct {
	http.ResponseWriter
	t        *testing.T
	idle     time.Duration
	deadline time.Time
	moves    int
	lastEnd  time.Time // when the previous write ended (or the response began)
	failed   bool
}

func (d *deadlines) SetWriteDeadline(at time.Time) error {
	d.deadline, d.moves = at, d.moves+1
	return nil
}

func (d *deadlines) check() {
	least := d.lastEnd.Add(d.idle - min(time.Second, d.idle/4))
	if d.deadline.Before(least) && !d.failed {
		d.failed = true
		d.t.Errorf("a write %s after the previous one ended faces a deadline %s after it (want at least %s)",
			time.Since(d.lastEnd), d.deadline.Sub(d.lastEnd), least.Sub(d.lastEnd))
	}
}

func (d *deadlines) Write(b []byte) (int, error) {
	d.check()
	defer func() { d.lastEnd = time.Now() }()
	return d.ResponseWriter.Write(b)
}

func (d *deadlines) ReadFrom(r io.Reader) (int64, error) {
	d.check()
	defer func() { d.lastEnd = time.Now() }()
	return d.ResponseWriter.(io.ReaderFrom).ReadFrom(r)
}

// TestStatusWriterReadFrom: files served through the statusWriter (as the
// feeds serve cached artifacts, with http.ServeContent and so ReadFrom)
// arrive whole, in ranges and to a slow reader that takes much longer
// than the write timeout, and their bytes are counted; the write deadline
// moves as the transfer progresses (see deadlines).
func TestStatusWriterReadFrom(t *testing.T) {
	body := make([]byte, 16<<20)
	for i := range body {
		body[i] = byte(rand.IntN(256))
	}
	path := filepath.Join(t.TempDir(), "artifact")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	counted, moves := make(chan int, 1), make(chan int, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).SetWriteDeadline(time.Time{})
		d := &deadlines{ResponseWriter: w, t: t, idle: 300 * time.Millisecond, lastEnd: time.Now()}
		sw := &statusWriter{ResponseWriter: d}
		sw.rc, sw.idle = http.NewResponseController(d), d.idle
		defer func() { moves <- d.moves }()
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
		if m := <-moves; m == 0 {
			t.Errorf("%s %q: the write deadline never set", query, rng)
		} else if pause > 0 {
			t.Logf("the slow transfer moved the write deadline %d times", m)
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
	// 64 pauses of 25 ms: the transfer lasts several write timeouts, and
	// the deadline moves as it progresses.
	start := time.Now()
	if got := get("", "", 25*time.Millisecond); !bytes.Equal(got, body) {
		t.Errorf("slow reader: %d of %d bytes", len(got), len(body))
	}
	if d := time.Since(start); d < time.Second {
		t.Logf("the slow transfer took only %s", d)
	}
}
