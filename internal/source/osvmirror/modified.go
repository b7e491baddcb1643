package osvmirror

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/store"
)

// maxModifiedCSV bounds modified_id.csv (the largest ecosystem's is a few
// megabytes), maxCSVLine one line of it.
const (
	maxModifiedCSV = 256 << 20
	maxCSVLine     = 1 << 20
)

// modifiedList is a source's modified_id.csv, read for an incremental
// sync: what the sync needs of it in the usual case (the records modified
// since the last sync, the newest time listed and the sketch of every ID
// listed) is taken in the one pass that checks the file. A map of every
// ID's time is built only when the sketches cannot tell what changed
// (times).
type modifiedList struct {
	text      string
	where     string
	lines     int             // records listed (an ID listed twice counts twice)
	sketch    *store.IDSketch // of the IDs of every line; nil when one cannot be held
	changed   []string        // IDs modified after since, each once, in the file's order
	watermark time.Time       // the newest time listed, at least since
}

// readModifiedCSV parses "<RFC3339 modified>,<ID>" lines (no header). The
// file is read whole: the IDs are substrings of one string.
//
// OSV lists the newest records first: while the file still downloads,
// early (when not nil) is given the IDs of its first lines, as long as
// they are well formed records modified after since and early takes them,
// so that their downloads start before the rest of the file is read. The
// list returned is the whole file's all the same.
func readModifiedCSV(r io.Reader, where string, since time.Time, early func(id string) bool) (*modifiedList, error) {
	// Read into a strings.Builder: the IDs are substrings of its string,
	// which is its buffer (no copy of the file into a string).
	var text strings.Builder
	if s, ok := r.(sized); ok && s.size() > 0 && s.size() <= maxModifiedCSV {
		text.Grow(int(s.size()))
	}
	scanned, searched := 0, 0 // lines handed over; bytes searched for the next line break
	seen := func(b string) {
		for early != nil {
			i := strings.IndexByte(b[searched:], '\n')
			if i < 0 {
				searched = len(b)
				if searched-scanned > maxCSVLine {
					early = nil
				}
				return
			}
			end := searched + i
			line := strings.TrimSpace(b[scanned:end])
			scanned, searched = end+1, end+1
			ts, id, ok := strings.Cut(line, ",")
			if len(line) > maxCSVLine || !ok || !validCSVID(id) {
				early = nil
				return
			}
			if t, err := osv.ParseTime(ts); err != nil || !t.After(since) || !early(id) {
				early = nil
			}
		}
	}
	var chunk [32 << 10]byte
	for {
		n, err := r.Read(chunk[:])
		if text.Len()+n > maxModifiedCSV {
			return nil, fmt.Errorf("%s: %w", where, errTooLarge)
		}
		if n > 0 {
			text.Write(chunk[:n])
			seen(text.String())
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
	}
	l := &modifiedList{text: text.String(), where: where, sketch: store.NewIDSketch(), watermark: since}
	var listed map[string]bool // the changed IDs
	err := l.each(func(id string, t time.Time) {
		l.lines++
		if l.sketch != nil && !l.sketch.Add(id) {
			l.sketch = nil
		}
		if !t.After(since) {
			return
		}
		if t.After(l.watermark) {
			l.watermark = t
		}
		if listed == nil {
			listed = map[string]bool{}
		}
		if !listed[id] {
			listed[id] = true
			l.changed = append(l.changed, id)
		}
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// each calls fn with the ID and time of each line, and fails at the first
// malformed line.
func (l *modifiedList) each(fn func(id string, t time.Time)) error {
	line := 0
	// Records change in batches: most lines have the previous line's
	// time (506 different times in the corpus's 4,301 Go lines), parsed
	// once.
	var lastTS string
	var last time.Time
	for raw := range strings.SplitSeq(l.text, "\n") {
		line++
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if len(raw) > maxCSVLine {
			return fmt.Errorf("%s line %d: line too long", l.where, line)
		}
		ts, id, ok := strings.Cut(raw, ",")
		if !ok || !validCSVID(id) {
			return fmt.Errorf("%s line %d: want \"<modified>,<id>\", got %q", l.where, line, raw)
		}
		if ts != lastTS || lastTS == "" {
			t, err := osv.ParseTime(ts)
			if err != nil {
				return fmt.Errorf("%s line %d: %w", l.where, line, err)
			}
			lastTS, last = ts, t.Time
		}
		fn(id, last)
	}
	return nil
}

// times maps every ID listed to its time (the last line's, for an ID
// listed twice).
func (l *modifiedList) times() map[string]time.Time {
	out := make(map[string]time.Time, l.lines)
	l.each(func(id string, t time.Time) { out[id] = t }) // checked when read
	return out
}

// timesOf maps the IDs of ids that are listed to their times.
func (l *modifiedList) timesOf(ids map[string]struct{}) map[string]time.Time {
	out := make(map[string]time.Time, len(ids))
	if len(ids) == 0 {
		return out
	}
	l.each(func(id string, t time.Time) {
		if _, ok := ids[id]; ok {
			out[id] = t
		}
	})
	return out
}

// validCSVID tells whether id, as modified_id.csv names it, can be a
// record's file name.
func validCSVID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch id[i] {
		case '/', '\\', ',':
			return false
		case '.':
			if i+1 < len(id) && id[i+1] == '.' {
				return false
			}
		}
	}
	return true
}
