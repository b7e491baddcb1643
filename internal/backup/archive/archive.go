// Package archive implements vulngate's backup file format: a zip
// archive with a README, one JSON Lines file per table (one JSON array per
// row, values in column order) and manifest.json, written last and read
// first through zip's central directory. The manifest records the format,
// the vulngate version, the engine the backup came from, the schema
// version and applied migrations, each table's columns with an
// engine-neutral kind, its row count, size and SHA-256 digest, the tables
// left out and why, and notes for people.
//
// The reader checks everything against the manifest (shape, names, row
// counts, sizes, digests, value types) and bounds what it reads, so that a
// truncated, damaged or hostile file gives an error naming the file and
// the problem. It leaves out what to back up and how to restore it
// (package backup).
package archive

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/lazyre"
)

// The backup file is a zip archive (docs in the package comment):
//
//	README.txt            what the file is and how to restore it
//	tables/<name>.jsonl   one JSON array per row, values in column order
//	manifest.json         written last, read first (zip's central directory)

// Class says what a table holds (see package backup's classification).
type Class string

// Table classes as the manifest names them.
const (
	User    Class = "user"
	Mirror  Class = "mirror"
	Cache   Class = "cache"
	Runtime Class = "runtime"
)

// Kind is a column's engine-neutral type; values of each kind travel as
// one Go type: int64, float64, string, []byte, bool (nil for NULL).
type Kind string

// Column kinds.
const (
	Int  Kind = "int"
	Real Kind = "real"
	Text Kind = "text"
	Blob Kind = "blob"
	Bool Kind = "bool"
)

// Format names this layout in the manifest.
const Format = "vulngate-backup/1"

// ManifestFile is the manifest's name in the archive.
const ManifestFile = "manifest.json"

// Manifest describes a backup.
type Manifest struct {
	Format          string    `json:"format"`
	Created         time.Time `json:"created"`
	VulngateVersion string    `json:"vulngate_version"`
	// Engine the backup was taken from: sqlite or postgres.
	Engine string `json:"engine"`
	// SchemaVersion is the highest applied migration; Migrations all of
	// them. A restore builds the schema up to it, loads the rows, then
	// applies the newer migrations its binary has.
	SchemaVersion int64   `json:"schema_version"`
	Migrations    []int64 `json:"migrations"`
	// Advisories says whether mirrored data is included.
	Advisories bool         `json:"advisories"`
	Tables     []TableEntry `json:"tables"`
	LeftOut    []LeftOut    `json:"left_out"`
	// Sealed counts the carried values sealed with each key (by key ID,
	// see internal/secret): a restore needs those keys to open them.
	Sealed map[string]int64 `json:"sealed,omitempty"`
	Notes  []string         `json:"notes"`
}

// TableEntry is one carried table.
type TableEntry struct {
	Name  string `json:"name"`
	Class Class  `json:"class"`
	// Unclassified: not in this vulngate's classification; carried.
	Unclassified bool          `json:"unclassified,omitempty"`
	Columns      []ColumnEntry `json:"columns"`
	Rows         int64         `json:"rows"`
	// Bytes and SHA256 are the size and digest of the uncompressed file.
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	File   string `json:"file"`
}

// ColumnEntry is one column of a carried table.
type ColumnEntry struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
}

// LeftOut is a table the backup does not carry, and why.
type LeftOut struct {
	Name   string `json:"name"`
	Class  Class  `json:"class"`
	Reason string `json:"reason"`
}

// Table returns the entry of the named table.
func (m *Manifest) Table(name string) (*TableEntry, bool) {
	for i := range m.Tables {
		if m.Tables[i].Name == name {
			return &m.Tables[i], true
		}
	}
	return nil, false
}

// Rows is the number of rows carried.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

const readme = `This is a vulngate backup (%s).

Restore it into an empty data directory or PostgreSQL database with

    vulngate restore FILE                 (--data-dir DIR or --database-url URL)

manifest.json lists what it holds: the schema version, each table with its
row count and SHA-256 digest, the tables left out and why. tables/*.jsonl
hold one JSON array per row.
`

// Writer writes a backup file.
type Writer struct {
	zw      *zip.Writer
	created time.Time
}

// NewWriter starts a backup file on w; created stamps its entries.
func NewWriter(w io.Writer, created time.Time) (*Writer, error) {
	zw := zip.NewWriter(w)
	// Advisory documents are stored compressed already: the fastest level
	// costs little size and much less time.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	bw := &Writer{zw: zw, created: created}
	f, err := bw.create("README.txt")
	if err != nil {
		return nil, err
	}
	_, err = fmt.Fprintf(f, readme, Format)
	return bw, err
}

func (w *Writer) create(name string) (io.Writer, error) {
	return w.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: w.created})
}

// TableWriter encodes the rows of one table.
type TableWriter struct {
	entry *TableEntry
	h     hash.Hash
	n     *byteCount
	bw    *bufio.Writer
	enc   *json.Encoder
	row   []any
}

// byteCount counts what is written to it.
type byteCount int64

func (c *byteCount) Write(p []byte) (int, error) {
	*c += byteCount(len(p))
	return len(p), nil
}

// Table starts the file of table e (its Name and Columns set); Rows,
// Bytes, SHA256 and File are filled as it is written.
func (w *Writer) Table(e *TableEntry) (*TableWriter, error) {
	e.File = "tables/" + e.Name + ".jsonl"
	f, err := w.create(e.File)
	if err != nil {
		return nil, err
	}
	h, n := sha256.New(), new(byteCount)
	bw := bufio.NewWriterSize(io.MultiWriter(f, h, n), 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &TableWriter{entry: e, h: h, n: n, bw: bw, enc: enc, row: make([]any, len(e.Columns))}, nil
}

// Write writes one row: values in column order, each converted to its
// column's kind (see Convert).
func (tw *TableWriter) Write(vals []any) error {
	for i, c := range tw.entry.Columns {
		v, err := Convert(c.Kind, vals[i])
		if err != nil {
			return fmt.Errorf("table %s, column %s: %w", tw.entry.Name, c.Name, err)
		}
		tw.row[i] = EncodeValue(v)
	}
	tw.entry.Rows++
	return tw.enc.Encode(tw.row)
}

// Close finishes the table's file.
func (tw *TableWriter) Close() error {
	if err := tw.bw.Flush(); err != nil {
		return err
	}
	tw.entry.Bytes = int64(*tw.n)
	tw.entry.SHA256 = hex.EncodeToString(tw.h.Sum(nil))
	return nil
}

// Close writes the manifest and finishes the archive.
func (w *Writer) Close(m *Manifest) error {
	f, err := w.create(ManifestFile)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return err
	}
	return w.zw.Close()
}

// Reader reads a backup file.
type Reader struct {
	name     string
	closer   io.Closer
	files    map[string]*zip.File
	Manifest *Manifest
}

// Bounds on what a reader accepts.
const (
	maxManifest = 16 << 20
	// maxLine bounds one row: advisory documents are at most 64 MiB
	// inflated, stored deflated, and base64 adds a third.
	maxLine    = 128 << 20
	maxTables  = 10000
	maxColumns = 1000
)

// ErrDamaged wraps every error about the file's shape or contents.
var ErrDamaged = errors.New("not a vulngate backup, or damaged")

// Open opens a backup file and reads its manifest.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := NewReader(f, fi.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewReader reads a backup from ra (size bytes); name names it in errors.
func NewReader(ra io.ReaderAt, size int64, name string) (*Reader, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (%v; a truncated file has no zip directory)", name, ErrDamaged, err)
	}
	r := &Reader{name: name, files: map[string]*zip.File{}}
	for _, f := range zr.File {
		r.files[f.Name] = f
	}
	mf, ok := r.files[ManifestFile]
	if !ok {
		return nil, fmt.Errorf("%s: %w: it has no %s", name, ErrDamaged, ManifestFile)
	}
	rc, err := mf.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s: %v", name, ErrDamaged, ManifestFile, err)
	}
	data, err := io.ReadAll(io.LimitReader(rc, maxManifest+1))
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s: %v", name, ErrDamaged, ManifestFile, err)
	}
	if len(data) > maxManifest {
		return nil, fmt.Errorf("%s: %w: %s is larger than %d bytes", name, ErrDamaged, ManifestFile, maxManifest)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w: %s: %v", name, ErrDamaged, ManifestFile, err)
	}
	if err := r.check(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r.Manifest = &m
	return r, nil
}

var identRE = lazyre.New(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// check validates the manifest's shape.
func (r *Reader) check(m *Manifest) error {
	if m.Format != Format {
		if strings.HasPrefix(m.Format, "vulngate-backup/") {
			return fmt.Errorf("backup format %q is newer than this vulngate reads (%s): upgrade vulngate", m.Format, Format)
		}
		return fmt.Errorf("%w: format %q", ErrDamaged, m.Format)
	}
	if m.Engine != "sqlite" && m.Engine != "postgres" {
		return fmt.Errorf("%w: unknown engine %q", ErrDamaged, m.Engine)
	}
	if len(m.Migrations) == 0 || m.Migrations[len(m.Migrations)-1] != m.SchemaVersion {
		return fmt.Errorf("%w: schema version %d does not match its migrations", ErrDamaged, m.SchemaVersion)
	}
	for i := 1; i < len(m.Migrations); i++ {
		if m.Migrations[i] <= m.Migrations[i-1] {
			return fmt.Errorf("%w: migrations out of order", ErrDamaged)
		}
	}
	if len(m.Tables) > maxTables {
		return fmt.Errorf("%w: %d tables", ErrDamaged, len(m.Tables))
	}
	seen := map[string]bool{}
	for _, t := range m.Tables {
		if !identRE.MatchString(t.Name) || seen[t.Name] {
			return fmt.Errorf("%w: bad or repeated table name %q", ErrDamaged, t.Name)
		}
		seen[t.Name] = true
		if t.File != "tables/"+t.Name+".jsonl" || r.files[t.File] == nil {
			return fmt.Errorf("%w: table %s: its file %q is missing", ErrDamaged, t.Name, t.File)
		}
		if len(t.Columns) == 0 || len(t.Columns) > maxColumns {
			return fmt.Errorf("%w: table %s has %d columns", ErrDamaged, t.Name, len(t.Columns))
		}
		if t.Rows < 0 || t.Bytes < 0 {
			return fmt.Errorf("%w: table %s: negative counts", ErrDamaged, t.Name)
		}
		if b, err := hex.DecodeString(t.SHA256); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("%w: table %s: bad digest %q", ErrDamaged, t.Name, t.SHA256)
		}
		cols := map[string]bool{}
		for _, c := range t.Columns {
			if !identRE.MatchString(c.Name) || cols[c.Name] {
				return fmt.Errorf("%w: table %s: bad or repeated column name %q", ErrDamaged, t.Name, c.Name)
			}
			cols[c.Name] = true
			switch c.Kind {
			case Int, Real, Text, Blob, Bool:
			default:
				return fmt.Errorf("%w: table %s, column %s: unknown kind %q", ErrDamaged, t.Name, c.Name, c.Kind)
			}
		}
	}
	return nil
}

// Close closes the file.
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// RowReader reads the rows of one table, checking them against the
// manifest: the row count, the size and the SHA-256 digest.
type RowReader struct {
	r     *Reader
	entry *TableEntry
	rc    io.ReadCloser
	br    *bufio.Reader
	h     hash.Hash
	bytes *byteCount
	n     int64
	raw   []json.RawMessage
	vals  []any
	line  []byte
}

// Rows opens the rows of a table listed in the manifest.
func (r *Reader) Rows(e *TableEntry) (*RowReader, error) {
	rc, err := r.files[e.File].Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", r.name, e.File, err)
	}
	h, n := sha256.New(), new(byteCount)
	br := bufio.NewReaderSize(io.TeeReader(rc, io.MultiWriter(h, n)), 64<<10)
	return &RowReader{r: r, entry: e, rc: rc, br: br, h: h, bytes: n, vals: make([]any, len(e.Columns))}, nil
}

// Close releases the reader.
func (rr *RowReader) Close() error { return rr.rc.Close() }

// Row is the number of the row Next returned last (from 1).
func (rr *RowReader) Row() int64 { return rr.n }

// Name names the file for messages.
func (r *Reader) Name() string { return r.name }

func (rr *RowReader) fail(format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w: %s", rr.r.name, rr.entry.File, ErrDamaged, fmt.Sprintf(format, args...))
}

// Next returns the next row, values typed by the backup's column kinds
// (the slice is reused). After the last row it checks the table against
// the manifest and returns io.EOF.
func (rr *RowReader) Next() ([]any, error) {
	line, err := rr.readLine()
	if errors.Is(err, io.EOF) {
		if len(line) > 0 {
			return nil, rr.fail("the last row is cut short")
		}
		return nil, rr.finish()
	}
	if err != nil {
		if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "flate") {
			return nil, rr.fail("%v", err)
		}
		return nil, err
	}
	rr.n++
	if rr.n > rr.entry.Rows {
		return nil, rr.fail("more rows than the manifest's %d", rr.entry.Rows)
	}
	rr.raw = rr.raw[:0]
	if err := json.Unmarshal(line, &rr.raw); err != nil {
		return nil, rr.fail("row %d: %v", rr.n, err)
	}
	if len(rr.raw) != len(rr.entry.Columns) {
		return nil, rr.fail("row %d has %d values for %d columns", rr.n, len(rr.raw), len(rr.entry.Columns))
	}
	for i, c := range rr.entry.Columns {
		v, err := decodeValue(c.Kind, rr.raw[i])
		if err != nil {
			return nil, rr.fail("row %d, column %s: %v", rr.n, c.Name, err)
		}
		rr.vals[i] = v
	}
	return rr.vals, nil
}

// readLine reads one line without its newline, at most maxLine bytes.
func (rr *RowReader) readLine() ([]byte, error) {
	rr.line = rr.line[:0]
	for {
		chunk, err := rr.br.ReadSlice('\n')
		rr.line = append(rr.line, chunk...)
		if len(rr.line) > maxLine {
			return nil, rr.fail("a row is longer than %d bytes", maxLine)
		}
		switch {
		case err == nil:
			return rr.line[:len(rr.line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return rr.line, err
		}
	}
}

func (rr *RowReader) finish() error {
	if rr.n != rr.entry.Rows {
		return rr.fail("%d rows where the manifest says %d (truncated?)", rr.n, rr.entry.Rows)
	}
	if int64(*rr.bytes) != rr.entry.Bytes {
		return rr.fail("%d bytes where the manifest says %d", int64(*rr.bytes), rr.entry.Bytes)
	}
	if got := hex.EncodeToString(rr.h.Sum(nil)); got != rr.entry.SHA256 {
		return rr.fail("SHA-256 digest %s does not match the manifest's %s", got, rr.entry.SHA256)
	}
	return io.EOF
}
