package store

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// IDSketch is a fixed-size summary of a set of record IDs from which the
// difference between two sets can be read back when it is small: an
// invertible Bloom lookup table. Each ID is added to one cell of each of
// sketchHashes sub-tables, chosen by its hash: a cell keeps how many IDs
// it holds, the XOR of their hashes and the XOR of their bytes. Subtract
// one set's sketch from another's and the IDs in only one of them are
// the cells left holding a single ID (count ±1, a hash that is the hash
// of the bytes held), peeled one after the other until every cell is
// empty. When too many IDs differ (more than about half the cells) the
// peeling stops short and Diff says it cannot tell.
//
// A partition keeps the sketch of the IDs it stores (partition_state.
// id_sketch), updated as imports and deltas write and delete records. An
// incremental sync subtracts the sketch of the IDs the source lists: what
// is left is the records the source removed and those it lists that the
// partition does not store (new, skipped as malformed, or published
// late), read in microseconds instead of reading every stored ID.
//
// What it leaves out: an ID longer than sketchIDBytes or ending in a NUL
// byte cannot be held, and makes the sketch unusable (Add returns false);
// a set that lists an ID twice is not a set, and Diff fails for it.
type IDSketch struct {
	cells [sketchCells]sketchCell
}

const (
	sketchHashes  = 3
	sketchPerHash = 40
	sketchCells   = sketchHashes * sketchPerHash
	sketchIDBytes = 64
	sketchWords   = sketchIDBytes / 8
	sketchVersion = 2
	// sketchSize is the encoded size: a version byte, then per cell its
	// count (4 bytes), hash (8) and bytes (64), little-endian.
	sketchSize = 1 + sketchCells*(4+8+sketchIDBytes)
)

type sketchCell struct {
	count int32
	hash  uint64
	id    [sketchWords]uint64
}

// NewIDSketch returns the sketch of an empty set.
func NewIDSketch() *IDSketch { return &IDSketch{} }

// SketchIDs is the sketch of ids (each once); nil when one of them cannot
// be held.
func SketchIDs(ids []string) *IDSketch {
	s := NewIDSketch()
	for _, id := range ids {
		if !s.Add(id) {
			return nil
		}
	}
	return s
}

// Add adds id to the set; it returns false (changing nothing) when id
// cannot be held.
func (s *IDSketch) Add(id string) bool { return s.toggle(id, 1) }

// Remove removes id from the set; it returns false (changing nothing)
// when id cannot be held.
func (s *IDSketch) Remove(id string) bool { return s.toggle(id, -1) }

func (s *IDSketch) toggle(id string, n int32) bool {
	w, words, ok := sketchKey(id)
	if !ok {
		return false
	}
	s.put(xxhash.Sum64String(id), &w, words, n)
	return true
}

// put adds n copies of the ID of hash h and bytes w (its first words
// words; the others are zero) to the cells it goes to.
func (s *IDSketch) put(h uint64, w *[sketchWords]uint64, words int, n int32) {
	x := cellBits(h)
	for j := range sketchHashes {
		c := &s.cells[cellIn(x, j)]
		c.count += n
		c.hash ^= h
		for k := range words {
			c.id[k] ^= w[k]
		}
	}
}

// sketchKey is id's bytes, zero-padded, as words, and how many words
// they fill. An ID ending in a NUL byte cannot be held: a cell's bytes
// are read back up to their last non-zero one.
func sketchKey(id string) (w [sketchWords]uint64, words int, ok bool) {
	if id == "" || len(id) > sketchIDBytes || id[len(id)-1] == 0 {
		return w, 0, false
	}
	var b [sketchIDBytes]byte
	copy(b[:], id)
	words = (len(id) + 7) / 8
	for k := range words {
		w[k] = binary.LittleEndian.Uint64(b[8*k:])
	}
	return w, words, true
}

// cellBits mixes an ID's hash (SplitMix64's finalizer) into the bits
// that choose its cells, sketchCellBits for each sub-table.
func cellBits(h uint64) uint64 {
	x := h + 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

const sketchCellBits = 21

// cellIn is the cell of the j-th sub-table for the bits x (cellBits): its
// sketchCellBits scaled to the sub-table's size.
func cellIn(x uint64, j int) int {
	r := x >> (sketchCellBits * j) & (1<<sketchCellBits - 1)
	return j*sketchPerHash + int(r*sketchPerHash>>sketchCellBits)
}

// Diff returns the IDs in s but not in o and those in o but not in s; ok
// is false when the sketches differ in more IDs than can be read back.
func (s *IDSketch) Diff(o *IDSketch) (onlyS, onlyO []string, ok bool) {
	d := *s
	for i := range d.cells {
		c, oc := &d.cells[i], &o.cells[i]
		c.count -= oc.count
		c.hash ^= oc.hash
		for k := range c.id {
			c.id[k] ^= oc.id[k]
		}
	}
	// Each ID differing is read back once, and no more of them than the
	// cells can hold; one read twice or one too many (a sketch not made by
	// Add, e.g. a damaged column) ends the peeling.
	seen := map[string]bool{}
	for peeled := true; peeled; {
		peeled = false
		for i := range d.cells {
			c := &d.cells[i]
			if c.count != 1 && c.count != -1 {
				continue
			}
			id, ok := c.single(i)
			if !ok {
				continue
			}
			if seen[id] || len(seen) == sketchCells {
				return nil, nil, false
			}
			seen[id] = true
			if c.count == 1 {
				onlyS = append(onlyS, id)
			} else {
				onlyO = append(onlyO, id)
			}
			w := c.id
			d.put(c.hash, &w, sketchWords, -c.count)
			peeled = true
		}
	}
	for i := range d.cells {
		if !d.cells[i].empty() {
			return nil, nil, false
		}
	}
	return onlyS, onlyO, true
}

// single returns the ID cell i holds when it holds exactly one (its
// count is ±1): the bytes are an ID whose hash is the cell's and that
// goes to cell i.
func (c *sketchCell) single(i int) (string, bool) {
	var b [sketchIDBytes]byte
	for k, w := range c.id {
		binary.LittleEndian.PutUint64(b[8*k:], w)
	}
	n := sketchIDBytes
	for n > 0 && b[n-1] == 0 {
		n--
	}
	id := string(b[:n])
	if _, _, ok := sketchKey(id); !ok || xxhash.Sum64String(id) != c.hash || cellIn(cellBits(c.hash), i/sketchPerHash) != i {
		return "", false
	}
	return id, true
}

func (c *sketchCell) empty() bool {
	return c.count == 0 && c.hash == 0 && c.id == [sketchWords]uint64{}
}

// encode is the sketch as a column value: NULL for nil.
func (s *IDSketch) encode() any {
	if s == nil {
		return nil
	}
	b := make([]byte, 0, sketchSize)
	b = append(b, sketchVersion)
	for i := range s.cells {
		c := &s.cells[i]
		b = binary.LittleEndian.AppendUint32(b, uint32(c.count))
		b = binary.LittleEndian.AppendUint64(b, c.hash)
		for _, w := range c.id {
			b = binary.LittleEndian.AppendUint64(b, w)
		}
	}
	return b
}

// decodeSketch reads a column written by encode: nil for NULL, and for a
// value it cannot read (another version's), which is then as good as
// none: the partition's IDs are read, and the next delta writes a sketch
// again.
func decodeSketch(b []byte) *IDSketch {
	if len(b) != sketchSize || b[0] != sketchVersion {
		return nil
	}
	s := &IDSketch{}
	b = b[1:]
	for i := range s.cells {
		c := &s.cells[i]
		c.count = int32(binary.LittleEndian.Uint32(b))
		c.hash = binary.LittleEndian.Uint64(b[4:])
		for k := range c.id {
			c.id[k] = binary.LittleEndian.Uint64(b[12+8*k:])
		}
		b = b[12+sketchIDBytes:]
	}
	return s
}
