// Package genzip writes a synthetic OSV bucket for the import scale test:
// <dir>/ecosystems.txt, <dir>/Go/all.zip and <dir>/Go/modified_id.csv.
//
// Records are realistic in shape and size (about 1.5-3 KB of JSON each:
// aliases, CVSS v3 severity, SEMVER ranges with one to three intervals,
// Go-style ecosystem_specific imports, references, credits) and affect only
// modules named example.com/synthetic/m<N>, so they never collide with real
// packages. Record i is the same for every total size, so a smaller bucket is
// a prefix of a larger one. The zips are streamed to disk; memory use does not
// grow with the record count. It does not write per-record files.
package genzip

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Ecosystem is the ecosystem the synthetic records use.
const Ecosystem = "Go"

// ID returns the ID of synthetic record i.
func ID(i int) string { return fmt.Sprintf("VGSYN-%08d", i) }

// Module returns the module of synthetic record i (about three records per module).
func Module(i int) string { return fmt.Sprintf("example.com/synthetic/m%d", i/3) }

var base = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// modified is decreasing in i, so ID order is also newest-first order and
// modified_id.csv can be streamed in the same pass as the zip.
func modified(i int) time.Time { return base.Add(-time.Duration(i) * time.Second) }

var words = strings.Fields(`attacker remote crafted request header parser buffer overflow denial of
service memory exhaustion panic nil pointer dereference path traversal injection
validation missing bounds check allows unauthenticated users to read arbitrary files
via specially token session cookie signature verification bypass improper handling
of archive entries symlink race condition leads to privilege escalation in the
default configuration when the server is exposed upstream fixed by rejecting
malformed input and limiting recursion depth decoder encoder template rendering`)

type event struct {
	Introduced string `json:"introduced,omitempty"`
	Fixed      string `json:"fixed,omitempty"`
}

type severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

type osvRange struct {
	Type   string  `json:"type"`
	Events []event `json:"events"`
}

type pkg struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	PURL      string `json:"purl"`
}

type affected struct {
	Package           pkg            `json:"package"`
	Ranges            []osvRange     `json:"ranges"`
	EcosystemSpecific map[string]any `json:"ecosystem_specific"`
}

type reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

type credit struct {
	Name string `json:"name"`
}

type record struct {
	SchemaVersion    string         `json:"schema_version"`
	ID               string         `json:"id"`
	Modified         string         `json:"modified"`
	Published        string         `json:"published"`
	Aliases          []string       `json:"aliases"`
	Summary          string         `json:"summary"`
	Details          string         `json:"details"`
	Severity         []severity     `json:"severity"`
	Affected         []affected     `json:"affected"`
	References       []reference    `json:"references"`
	Credits          []credit       `json:"credits"`
	DatabaseSpecific map[string]any `json:"database_specific"`
}

var cvss = []string{
	"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
	"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
	"CVSS:3.1/AV:N/AC:H/PR:L/UI:R/S:U/C:L/I:L/A:N",
	"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N",
	"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
}

// Record returns the JSON of synthetic record i.
func Record(i int) []byte {
	rng := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	id := ID(i)
	mod := Module(i)
	r := record{
		SchemaVersion: "1.6.0",
		ID:            id,
		Modified:      modified(i).Format(time.RFC3339),
		Published:     modified(i).Add(-time.Duration(24*(1+rng.IntN(400))) * time.Hour).Format(time.RFC3339),
		Aliases:       []string{fmt.Sprintf("CVE-2098-%d", 100000+i)},
		Summary:       fmt.Sprintf("Synthetic %s %s in %s", pick(rng), pick(rng), mod),
	}
	if rng.IntN(2) == 0 {
		r.Aliases = append(r.Aliases, fmt.Sprintf("GHSA-%s-%s-%s", ghsaPart(rng), ghsaPart(rng), ghsaPart(rng)))
	}
	var d strings.Builder
	for n := 400 + rng.IntN(1200); d.Len() < n; {
		d.WriteString(pick(rng))
		d.WriteByte(' ')
	}
	r.Details = strings.TrimSpace(d.String()) + "."
	r.Severity = []severity{{Type: "CVSS_V3", Score: cvss[rng.IntN(len(cvss))]}}
	r.Affected = []affected{{
		Package: pkg{Ecosystem: Ecosystem, Name: mod, PURL: "pkg:golang/" + mod},
		Ranges:  []osvRange{{Type: "SEMVER"}},
	}}
	a := &r.Affected[0]
	major := 0
	for k := 1 + rng.IntN(3); k > 0; k-- {
		intro := "0"
		if major > 0 {
			intro = fmt.Sprintf("%d.0.0", major)
		}
		a.Ranges[0].Events = append(a.Ranges[0].Events,
			event{Introduced: intro},
			event{Fixed: fmt.Sprintf("%d.%d.%d", major, 1+rng.IntN(20), rng.IntN(10))})
		major++
	}
	a.EcosystemSpecific = map[string]any{"imports": []map[string]any{{
		"path":    mod + "/internal/" + pick(rng),
		"symbols": []string{"Parse", "Decode", "Handler.ServeHTTP"}[:1+rng.IntN(3)],
	}}}
	for _, t := range []string{"ADVISORY", "FIX", "REPORT", "WEB"}[:2+rng.IntN(3)] {
		r.References = append(r.References, reference{t, fmt.Sprintf("https://example.com/synthetic/m%d/%s/%d", i/3, strings.ToLower(t), rng.IntN(100000))})
	}
	r.Credits = append(r.Credits, credit{fmt.Sprintf("Synthetic Reporter %d", rng.IntN(500))})
	r.DatabaseSpecific = map[string]any{"url": "https://example.com/advisories/" + id, "review_status": "REVIEWED", "synthetic": true}
	b, err := json.MarshalIndent(&r, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

func pick(rng *rand.Rand) string { return words[rng.IntN(len(words))] }

func ghsaPart(rng *rand.Rand) string {
	const al = "23456789cfghjmpqrvwx"
	var b [4]byte
	for i := range b {
		b[i] = al[rng.IntN(len(al))]
	}
	return string(b[:])
}

// Stats describes a written bucket.
type Stats struct {
	Records  int
	RawBytes int64 // sum of uncompressed record sizes
	ZipBytes int64
}

// Write writes n synthetic records as a bucket under dir.
func Write(dir string, n int) (Stats, error) {
	st, err := WriteMany([]string{dir}, []int{n})
	if err != nil {
		return Stats{}, err
	}
	return st[0], nil
}

type bucketWriter struct {
	n        int
	zf, cf   *os.File
	zbuf     *bufio.Writer
	cbuf     *bufio.Writer
	zw       *zip.Writer
	rawBytes int64
}

type compressed struct {
	raw  int
	crc  uint32
	data []byte
}

const batchSize = 512

// WriteMany writes buckets dirs[k] holding the first sizes[k] records, in
// one pass: each record is generated and deflated once (by GOMAXPROCS
// workers) and stored raw into every zip that includes it.
func WriteMany(dirs []string, sizes []int) ([]Stats, error) {
	if len(dirs) != len(sizes) {
		return nil, fmt.Errorf("genzip: %d dirs, %d sizes", len(dirs), len(sizes))
	}
	ws := make([]*bucketWriter, len(dirs))
	total := 0
	for k, dir := range dirs {
		w, err := openBucket(dir, sizes[k])
		if err != nil {
			return nil, err
		}
		defer w.zf.Close()
		defer w.cf.Close()
		ws[k] = w
		total = max(total, sizes[k])
	}

	// Batches are compressed in parallel and consumed in order.
	nb := (total + batchSize - 1) / batchSize
	results := make([]chan []compressed, nb)
	for i := range results {
		results[i] = make(chan []compressed, 1)
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	next := make(chan int)
	quit := make(chan struct{})
	defer close(quit)
	sem := make(chan struct{}, 4*workers) // bounds batches in flight
	go func() {
		defer close(next)
		for b := 0; b < nb; b++ {
			select {
			case sem <- struct{}{}:
			case <-quit:
				return
			}
			select {
			case next <- b:
			case <-quit:
				return
			}
		}
	}()
	for range workers {
		go func() {
			var buf bytes.Buffer
			fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
			for b := range next {
				lo, hi := b*batchSize, min(total, (b+1)*batchSize)
				out := make([]compressed, 0, hi-lo)
				for i := lo; i < hi; i++ {
					rec := Record(i)
					buf.Reset()
					fw.Reset(&buf)
					fw.Write(rec)
					fw.Close()
					out = append(out, compressed{len(rec), crc32.ChecksumIEEE(rec), bytes.Clone(buf.Bytes())})
				}
				results[b] <- out
			}
		}()
	}
	for b := 0; b < nb; b++ {
		batch := <-results[b]
		results[b] = nil
		<-sem
		for j, c := range batch {
			i := b*batchSize + j
			for _, w := range ws {
				if i >= w.n {
					continue
				}
				if err := w.add(i, c); err != nil {
					return nil, err
				}
			}
		}
	}
	st := make([]Stats, len(ws))
	for k, w := range ws {
		var err error
		if st[k], err = w.close(); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func openBucket(dir string, n int) (*bucketWriter, error) {
	eco := filepath.Join(dir, Ecosystem)
	if err := os.MkdirAll(eco, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "ecosystems.txt"), []byte(Ecosystem+"\n"), 0o644); err != nil {
		return nil, err
	}
	zf, err := os.Create(filepath.Join(eco, "all.zip"))
	if err != nil {
		return nil, err
	}
	cf, err := os.Create(filepath.Join(eco, "modified_id.csv"))
	if err != nil {
		zf.Close()
		return nil, err
	}
	w := &bucketWriter{n: n, zf: zf, cf: cf, zbuf: bufio.NewWriterSize(zf, 1<<20), cbuf: bufio.NewWriterSize(cf, 1<<20)}
	w.zw = zip.NewWriter(w.zbuf)
	return w, nil
}

func (w *bucketWriter) add(i int, c compressed) error {
	h := &zip.FileHeader{
		Name: ID(i) + ".json", Method: zip.Deflate, Modified: modified(i),
		CRC32: c.crc, CompressedSize64: uint64(len(c.data)), UncompressedSize64: uint64(c.raw),
	}
	zw, err := w.zw.CreateRaw(h)
	if err != nil {
		return err
	}
	if _, err := zw.Write(c.data); err != nil {
		return err
	}
	w.rawBytes += int64(c.raw)
	_, err = fmt.Fprintf(w.cbuf, "%s,%s\n", modified(i).Format(time.RFC3339Nano), ID(i))
	return err
}

func (w *bucketWriter) close() (Stats, error) {
	if err := w.zw.Close(); err != nil {
		return Stats{}, err
	}
	if err := w.zbuf.Flush(); err != nil {
		return Stats{}, err
	}
	if err := w.cbuf.Flush(); err != nil {
		return Stats{}, err
	}
	fi, err := w.zf.Stat()
	if err != nil {
		return Stats{}, err
	}
	if err := w.zf.Close(); err != nil {
		return Stats{}, err
	}
	return Stats{Records: w.n, RawBytes: w.rawBytes, ZipBytes: fi.Size()}, w.cf.Close()
}
