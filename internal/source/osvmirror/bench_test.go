package osvmirror

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/cputime"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/corpus"
)

// BenchmarkFullImport imports every ecosystem of the shared corpus from a
// file:// source into a fresh store and reports advisories per second.
func BenchmarkFullImport(b *testing.B) {
	dir := corpus.Dir(b)
	ecos, err := readEcosystems(context.Background(), &fileFetcher{dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	records := 0
	for b.Loop() {
		b.StopTimer()
		st := openStore(b)
		m, err := New(st, Options{BaseURL: "file://" + dir, Ecosystems: ecos})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := m.Sync(context.Background())
		if err != nil || rep.Failed() {
			b.Fatalf("%v %+v", err, rep)
		}
		for _, e := range rep.Ecosystems {
			records += e.Records + e.MalformedCount
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "advisories/s")
}

// BenchmarkIncrementalDelta measures applying the corpus's delta/ snapshot
// (20 changed, 5 added, 5 removed Go records) over HTTP after a full
// import, in the process that made the import (as the server's scheduled
// mirror job runs it). It also reports the full Go import of each
// iteration, timed the same way, and the delta as a share of it (the
// issue's target: at most 5%).
func BenchmarkIncrementalDelta(b *testing.B) {
	dir := corpus.Dir(b)
	var full, delta time.Duration
	for b.Loop() {
		b.StopTimer()
		srv := corpus.Serve(b, dir)
		st := openStore(b)
		m, _ := New(st, Options{BaseURL: srv.URL, Ecosystems: []string{"Go"}})
		start := time.Now()
		if rep, err := m.Sync(context.Background()); err != nil || rep.Ecosystems[0].Mode != ModeFull {
			b.Fatalf("%v %+v", err, rep)
		}
		full += time.Since(start)
		srv.SetDir(dir + "/delta")
		b.StartTimer()
		start = time.Now()
		rep, err := m.Sync(context.Background())
		delta += time.Since(start)
		if err != nil || rep.Ecosystems[0].Mode != ModeIncremental {
			b.Fatalf("%v %+v", err, rep)
		}
	}
	b.ReportMetric(float64(full.Microseconds())/1000/float64(b.N), "full-Go-import-ms")
	b.ReportMetric(100*delta.Seconds()/full.Seconds(), "%-of-full")
}

// corpusEntries lists the zip entries of every corpus ecosystem.
func corpusEntries(b *testing.B) (zips map[string]*zipArchive, entries map[string][]zipEntry) {
	dir := corpus.Dir(b)
	ecos, err := readEcosystems(context.Background(), &fileFetcher{dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	zips, entries = map[string]*zipArchive{}, map[string][]zipEntry{}
	for _, eco := range ecos {
		z, err := openZip(dir + "/" + eco + "/all.zip")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { z.Close() })
		zips[eco] = z
		z.walk(func(e zipEntry) error { entries[eco] = append(entries[eco], e); return nil })
	}
	return zips, entries
}

// BenchmarkReadEntries reads and parses every corpus record on one
// goroutine (what each import worker does per entry); ns/op is per record.
func BenchmarkReadEntries(b *testing.B) {
	zips, entries := corpusEntries(b)
	var buf []byte
	n := 0
	cpu := processCPU()
	for b.Loop() {
		for eco, es := range entries {
			for _, e := range es {
				readEntry(zips[eco], e, eco, &buf)
				n++
			}
		}
	}
	reportPerRecord(b, n, processCPU()-cpu)
}

// BenchmarkWriteCorpus writes every corpus record, read beforehand, into a
// fresh store, one partition per ecosystem: the import's writer alone.
func BenchmarkWriteCorpus(b *testing.B) {
	zips, entries := corpusEntries(b)
	recs := map[string][]store.Record{}
	n := 0
	for eco, es := range entries {
		for _, e := range es {
			if r := readEntry(zips[eco], e, eco, nil); r.keep {
				recs[eco] = append(recs[eco], r.rec)
			}
		}
	}
	ctx := context.Background()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		st := openStore(b)
		b.StartTimer()
		start := processCPU()
		for eco, rs := range recs {
			im, err := st.BeginImport(ctx, eco, SourceLabel)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range rs {
				if err := im.Add(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := im.Commit(ctx, store.PartitionState{}); err != nil {
				b.Fatal(err)
			}
			n += len(rs)
		}
		cpu += processCPU() - start
	}
	reportPerRecord(b, n, cpu)
}

// reportPerRecord reports wall and CPU (user+system, all threads) time per
// record: on a shared machine the CPU figure is the one that compares.
func reportPerRecord(b *testing.B, n int, cpu time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/record")
}

// BenchmarkParseHeader decodes the header of every corpus record, inflated
// beforehand; ns/op is per record.
func BenchmarkParseHeader(b *testing.B) {
	zips, entries := corpusEntries(b)
	var docs [][]byte
	for eco, es := range entries {
		for _, e := range es {
			if data, _, err := zips[eco].read(e, maxRecordSize, nil); err == nil {
				docs = append(docs, data)
			}
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		osv.ParseHeader(docs[i%len(docs)])
	}
}

// tlsBucket serves n per-record files over TLS with HTTP/2 enabled, and a
// Mirror on the default transport (trusting the server's certificate) whose
// first request opened the connection, as modified_id.csv does in a sync.
func tlsBucket(tb testing.TB, h2 bool) (*Mirror, *atomic.Int64) {
	var http2 atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			http2.Add(1)
		}
		id := strings.TrimSuffix(path.Base(r.URL.Path), ".json")
		fmt.Fprintf(w, `{"id":%q,"modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"example.com/m"}}],"details":%q}`, id, strings.Repeat("x", 1500))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	tr := defaultTransport()
	tr.ForceAttemptHTTP2 = h2
	tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	tb.Cleanup(tr.CloseIdleConnections)
	m, err := New(nil, Options{BaseURL: srv.URL, Ecosystems: []string{"Go"}, HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		tb.Fatal(err)
	}
	rc, err := m.fetch.open(context.Background(), "Go/modified_id.csv")
	if err != nil {
		tb.Fatal(err)
	}
	rc.Close()
	return m, &http2
}

// BenchmarkFetchRecordsTLS fetches a delta's 25 per-record files from a
// loopback TLS server with the default transport (HTTP/2 over the open
// connection) and with HTTP/1.1 (a TLS connection per worker).
func BenchmarkFetchRecordsTLS(b *testing.B) {
	ids := make([]string, 25)
	for i := range ids {
		ids[i] = fmt.Sprintf("GO-2026-%04d", i)
	}
	for _, h2 := range []bool{true, false} {
		b.Run(fmt.Sprintf("http2=%v", h2), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				m, _ := tlsBucket(b, h2)
				b.StartTimer()
				if out, err := m.fetchRecords(context.Background(), "Go", ids); err != nil || len(out) != len(ids) {
					b.Fatal(err, len(out))
				}
			}
		})
	}
}

// TestDefaultTransportSpeaksHTTP2 keeps the per-record downloads of a delta
// on one connection over https://.
func TestDefaultTransportSpeaksHTTP2(t *testing.T) {
	m, http2 := tlsBucket(t, defaultTransport().ForceAttemptHTTP2)
	out, err := m.fetchRecords(context.Background(), "Go", []string{"GO-1", "GO-2", "GO-3"})
	if err != nil || len(out) != 3 || out["GO-2"].malformed != "" {
		t.Fatalf("%v %+v", err, out)
	}
	if n := http2.Load(); n != 4 {
		t.Fatalf("%d of 4 requests over HTTP/2", n)
	}
}

// processCPU is the process's CPU time so far (0 where it is not measured:
// benchmarks then report 0 CPU per record).
func processCPU() time.Duration {
	d, _ := cputime.Process()
	return d
}

// BenchmarkReadModifiedCSV parses the corpus delta's Go modified_id.csv
// (4,301 lines) from a body that tells its length, as an HTTP response
// does, handing the lines newer than the delta's watermark to early.
func BenchmarkReadModifiedCSV(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(corpus.Dir(b), "delta", "Go", "modified_id.csv"))
	if err != nil {
		b.Fatal(err)
	}
	since := time.Date(2026, 8, 21, 20, 38, 0, 0, time.UTC)
	for b.Loop() {
		n := 0
		m, err := readModifiedCSV(sizedReader{bytes.NewReader(data), int64(len(data)), nil}, "x", since, func(string) bool { n++; return true })
		if err != nil || m.lines != 4301 || n != 25 {
			b.Fatal(err, m.lines, n)
		}
	}
}
