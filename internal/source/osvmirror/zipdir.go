package osvmirror

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/flate"
)

// This file reads zip archives entry by entry from their central
// directory. archive/zip materializes the whole directory as *zip.File
// values before the first entry can be read; for the largest OSV ecosystems
// (over a million entries) that alone costs hundreds of MiB, so the mirror
// walks the directory sequentially instead and keeps memory bounded. It
// supports what zip writers produce for OSV exports: stored and DEFLATE
// entries, Zip64, data descriptors. Encryption and multi-disk archives are
// rejected.

const (
	sigEOCD      = 0x06054b50
	sigZip64EOCD = 0x06064b50
	sigZip64Loc  = 0x07064b50
	sigCentral   = 0x02014b50
	sigLocal     = 0x04034b50
)

var errCorruptZip = errors.New("corrupt zip archive")

// zipEntry is one central directory record.
type zipEntry struct {
	name   string
	method uint16
	flags  uint16
	crc32  uint32
	csize  uint64
	usize  uint64
	offset uint64 // of the local file header

	// The bytes read ahead for the entry (zipWindow.prefetch): what read
	// would read first, or the error reading them gave.
	block    []byte
	blockErr error
}

// zipArchive is an open archive whose directory has been located.
type zipArchive struct {
	f        *os.File
	size     int64
	cdOffset uint64
	cdSize   uint64
	count    uint64
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errCorruptZip, fmt.Sprintf(format, args...))
}

// openZip opens path and locates its central directory.
func openZip(path string) (*zipArchive, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	z := &zipArchive{f: f, size: st.Size()}
	if err := z.locate(); err != nil {
		f.Close()
		return nil, err
	}
	return z, nil
}

func (z *zipArchive) Close() error { return z.f.Close() }

func (z *zipArchive) locate() error {
	const eocdLen = 22
	if z.size < eocdLen {
		return corrupt("%d bytes is too short for a zip archive", z.size)
	}
	tail := min(z.size, eocdLen+65535)
	buf := make([]byte, tail)
	if _, err := z.f.ReadAt(buf, z.size-tail); err != nil && err != io.EOF {
		return err
	}
	pos := -1
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) == sigEOCD && i+eocdLen+int(binary.LittleEndian.Uint16(buf[i+20:])) <= len(buf) {
			pos = i
			break
		}
	}
	if pos < 0 {
		return corrupt("no end of central directory record (truncated?)")
	}
	e := buf[pos:]
	eocdAt := uint64(z.size - tail + int64(pos))
	disk, cdDisk := binary.LittleEndian.Uint16(e[4:]), binary.LittleEndian.Uint16(e[6:])
	z.count = uint64(binary.LittleEndian.Uint16(e[10:]))
	z.cdSize = uint64(binary.LittleEndian.Uint32(e[12:]))
	z.cdOffset = uint64(binary.LittleEndian.Uint32(e[16:]))
	if z.count == 0xffff || z.cdSize == 0xffffffff || z.cdOffset == 0xffffffff {
		if err := z.locate64(eocdAt); err != nil {
			return err
		}
	} else if disk != 0 || cdDisk != 0 {
		return corrupt("multi-disk archives are not supported")
	}
	if z.cdOffset+z.cdSize > eocdAt {
		return corrupt("central directory [%d, %d) overlaps its end record at %d (truncated?)", z.cdOffset, z.cdOffset+z.cdSize, eocdAt)
	}
	return nil
}

func (z *zipArchive) locate64(eocdAt uint64) error {
	if eocdAt < 20 {
		return corrupt("missing Zip64 locator")
	}
	loc := make([]byte, 20)
	if _, err := z.f.ReadAt(loc, int64(eocdAt-20)); err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(loc) != sigZip64Loc {
		return corrupt("missing Zip64 locator")
	}
	at := binary.LittleEndian.Uint64(loc[8:])
	if at+56 > eocdAt {
		return corrupt("Zip64 end record out of range")
	}
	rec := make([]byte, 56)
	if _, err := z.f.ReadAt(rec, int64(at)); err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(rec) != sigZip64EOCD {
		return corrupt("bad Zip64 end record")
	}
	z.count = binary.LittleEndian.Uint64(rec[32:])
	z.cdSize = binary.LittleEndian.Uint64(rec[40:])
	z.cdOffset = binary.LittleEndian.Uint64(rec[48:])
	return nil
}

// Count is the number of entries the archive declares.
func (z *zipArchive) Count() int { return int(min(z.count, 1<<40)) }

// walk calls fn for each central directory entry in order.
func (z *zipArchive) walk(fn func(zipEntry) error) error {
	r := bufio.NewReaderSize(io.NewSectionReader(z.f, int64(z.cdOffset), int64(z.cdSize)), 256<<10)
	hdr := make([]byte, 46)
	var n uint64
	for {
		if _, err := io.ReadFull(r, hdr[:4]); err == io.EOF {
			break
		} else if err != nil {
			return corrupt("central directory: %v", err)
		}
		if binary.LittleEndian.Uint32(hdr) != sigCentral {
			if n == z.count {
				break // trailing digital signature or padding
			}
			return corrupt("central directory entry %d: bad signature", n)
		}
		if _, err := io.ReadFull(r, hdr[4:]); err != nil {
			return corrupt("central directory entry %d: %v", n, err)
		}
		e := zipEntry{
			flags:  binary.LittleEndian.Uint16(hdr[8:]),
			method: binary.LittleEndian.Uint16(hdr[10:]),
			crc32:  binary.LittleEndian.Uint32(hdr[16:]),
			csize:  uint64(binary.LittleEndian.Uint32(hdr[20:])),
			usize:  uint64(binary.LittleEndian.Uint32(hdr[24:])),
			offset: uint64(binary.LittleEndian.Uint32(hdr[42:])),
		}
		nameLen, extraLen, commentLen := int(binary.LittleEndian.Uint16(hdr[28:])), int(binary.LittleEndian.Uint16(hdr[30:])), int(binary.LittleEndian.Uint16(hdr[32:]))
		vars := make([]byte, nameLen+extraLen+commentLen)
		if _, err := io.ReadFull(r, vars); err != nil {
			return corrupt("central directory entry %d: %v", n, err)
		}
		e.name = string(vars[:nameLen])
		e.applyZip64(vars[nameLen : nameLen+extraLen])
		n++
		if err := fn(e); err != nil {
			return err
		}
	}
	if n != z.count {
		return corrupt("central directory holds %d entries, the end record declares %d", n, z.count)
	}
	return nil
}

// applyZip64 reads 64-bit sizes and offset from the Zip64 extra field.
func (e *zipEntry) applyZip64(extra []byte) {
	for len(extra) >= 4 {
		id, size := binary.LittleEndian.Uint16(extra), int(binary.LittleEndian.Uint16(extra[2:]))
		if 4+size > len(extra) {
			return
		}
		field := extra[4 : 4+size]
		extra = extra[4+size:]
		if id != 0x0001 {
			continue
		}
		next := func(v *uint64) {
			if *v == 0xffffffff && len(field) >= 8 {
				*v = binary.LittleEndian.Uint64(field)
				field = field[8:]
			}
		}
		next(&e.usize)
		next(&e.csize)
		next(&e.offset)
	}
}

// read returns the entry's content and, for DEFLATE entries, its raw
// compressed bytes; the CRC-32 is verified. Content over limit bytes gives
// errTooLarge. A DEFLATE entry is inflated into *buf (grown as needed),
// so data is only valid until buf's next use; pass nil for a fresh buffer.
func (z *zipArchive) read(e zipEntry, limit int, buf *[]byte) (data, deflated []byte, err error) {
	if e.flags&0x1 != 0 {
		return nil, nil, fmt.Errorf("%w: encrypted entry", errUnsupportedEntry)
	}
	if e.method != 0 && e.method != 8 {
		return nil, nil, fmt.Errorf("%w: compression method %d", errUnsupportedEntry, e.method)
	}
	if e.csize > uint64(limit) || e.usize > uint64(limit) {
		return nil, nil, errTooLarge
	}
	if e.offset+30 > z.cdOffset {
		return nil, nil, corrupt("entry %s: local header offset %d out of range", e.name, e.offset)
	}
	// One read for the local header and the data behind it, guessing that
	// the local header repeats the central directory's name and has no
	// more than a small extra field (as zip writers do); a second read
	// only when it does not. One system call per entry instead of two,
	// none when the entry's bytes were read ahead (zipWindow).
	guess := z.guess(e)
	block, err := e.block, e.blockErr
	if block == nil && err == nil {
		block = make([]byte, guess)
		_, err = z.f.ReadAt(block, int64(e.offset))
	}
	if err != nil {
		return nil, nil, corrupt("entry %s: %v", e.name, err)
	}
	lh := block[:30]
	if binary.LittleEndian.Uint32(lh) != sigLocal {
		return nil, nil, corrupt("entry %s: bad local header signature", e.name)
	}
	hdrLen := 30 + uint64(binary.LittleEndian.Uint16(lh[26:])) + uint64(binary.LittleEndian.Uint16(lh[28:]))
	start := e.offset + hdrLen
	if start+e.csize > z.cdOffset {
		return nil, nil, corrupt("entry %s: data runs past the central directory", e.name)
	}
	var raw []byte
	if hdrLen+e.csize <= guess {
		raw = block[hdrLen : hdrLen+e.csize : hdrLen+e.csize]
	} else {
		raw = make([]byte, e.csize)
		if _, err := z.f.ReadAt(raw, int64(start)); err != nil {
			return nil, nil, corrupt("entry %s: %v", e.name, err)
		}
	}
	if e.method == 0 {
		data = raw
	} else {
		fr := inflaters.Get().(io.ReadCloser)
		fr.(flate.Resetter).Reset(bytes.NewReader(raw), nil)
		if buf == nil {
			buf = new([]byte)
		}
		if want := int(min(e.usize, uint64(limit))) + 1; cap(*buf) < want {
			*buf = make([]byte, 0, want)
		}
		data = (*buf)[:0]
		_, err := readAllLimited(fr, &data, limit)
		*buf = data
		inflaters.Put(fr)
		if err != nil {
			if errors.Is(err, errTooLarge) {
				return nil, nil, err
			}
			return nil, nil, corrupt("entry %s: %v", e.name, err)
		}
		deflated = raw
	}
	if crc32.ChecksumIEEE(data) != e.crc32 {
		return nil, nil, corrupt("entry %s: checksum mismatch", e.name)
	}
	return data, deflated, nil
}

// guess is how many bytes read reads first for e: its local header with
// the central directory's name and up to localExtraGuess bytes of extra
// field, and its data.
func (z *zipArchive) guess(e zipEntry) uint64 {
	return min(30+uint64(len(e.name))+localExtraGuess+e.csize, z.cdOffset-e.offset)
}

// zipWindow reads the entries' bytes ahead in large sequential reads, for
// entries walked in the order their data lies in the file (as zip writers
// write them): one read system call per zipWindowSize bytes instead of a
// pread per entry (36,566 for the corpus, ~2% of an import's CPU).
// Entries out of order, or larger than the window, are read alone.
type zipWindow struct {
	buf []byte
	at  uint64 // file offset of buf[0]
}

const zipWindowSize = 1 << 20

// prefetch sets e.block to the bytes read would read first, when read
// would read them (the same checks before); otherwise it leaves e alone.
func (w *zipWindow) prefetch(z *zipArchive, e *zipEntry, limit int) {
	if e.flags&0x1 != 0 || (e.method != 0 && e.method != 8) || e.csize > uint64(limit) || e.usize > uint64(limit) || e.offset+30 > z.cdOffset {
		return
	}
	n := z.guess(*e)
	if n > zipWindowSize {
		return
	}
	if e.offset < w.at || e.offset+n > w.at+uint64(len(w.buf)) {
		if w.buf == nil {
			w.buf = make([]byte, zipWindowSize)
		}
		size := min(zipWindowSize, z.cdOffset-e.offset)
		k, err := z.f.ReadAt(w.buf[:size], int64(e.offset))
		w.buf, w.at = w.buf[:k], e.offset
		if uint64(k) < n {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			e.blockErr = err
			return
		}
	}
	start := e.offset - w.at
	e.block = append([]byte(nil), w.buf[start:start+n]...)
}

var errUnsupportedEntry = errors.New("unsupported zip entry")

// localExtraGuess is how many bytes of local extra field read ahead
// allows for (a Zip64 field with sizes is 20, a timestamp field 9).
const localExtraGuess = 64

// inflaters reuses DEFLATE decompressors, whose state is large.
var inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}
