package osv

import (
	"encoding/binary"
	"unicode/utf8"
)

// scanHeader is ParseHeader's fast path: one pass over the document that
// checks it is well-formed JSON and takes the Header's fields, without the
// reflection and token machinery of a general decoder (an import spends
// about a seventh of its CPU decoding headers). It takes the plain form
// record exports are written in: a JSON object whose header fields appear
// once each under their exact names, as strings, arrays and objects
// without escapes or null.
//
// Anything else makes it give up (ok false), and ParseHeader decodes the
// document with the general decoder instead, so the result, or the error,
// is always the general decoder's: a name that would match a field only
// case-insensitively or with "-" or "_" in it, a name repeated or not
// ASCII or with an escape at a level with fields, a field that is null or
// not of its type, an escape or invalid UTF-8 in a string taken, an empty
// or unparsable timestamp, a surrogate escape anywhere, nesting deeper
// than maxScanDepth, or any syntax error.
// FuzzScanHeader checks that whatever it returns equals what the general
// decoder returns.
func scanHeader(d []byte) (h Header, ok bool) {
	s := headerScanner{d: d}
	s.ws()
	if !s.object(func(name []byte) bool {
		switch string(name) {
		case "id":
			h.ID, ok = s.plainString()
		case "modified":
			h.Modified, ok = s.time()
		case "withdrawn":
			h.Withdrawn, ok = s.time()
		case "aliases":
			h.Aliases, ok = s.strings()
		case "affected":
			h.Affected, ok = s.affected()
		default:
			return s.skipUnless(name, "id", "modified", "withdrawn", "aliases", "affected")
		}
		return ok
	}) {
		return Header{}, false
	}
	s.ws()
	return h, s.i == len(d)
}

// maxScanDepth bounds the nesting scanHeader follows (the general decoder
// takes deeper documents up to its own limit).
const maxScanDepth = 200

type headerScanner struct {
	d       []byte
	i       int
	depth   int
	lastEco string // the last ecosystem taken, reused when the next is equal
}

// ws skips JSON whitespace.
func (s *headerScanner) ws() {
	d, i := s.d, s.i
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\r':
			i++
		case '\n':
			// Indentation follows, eight spaces at a time.
			i++
			for i+8 <= len(d) && binary.LittleEndian.Uint64(d[i:]) == 0x2020202020202020 {
				i += 8
			}
		default:
			s.i = i
			return
		}
	}
	s.i = i
}

// object reads an object at s.i whose members may be Header fields,
// calling member for each member with the scanner at its value (member
// reads the value). A name must be a plain string, without escapes, and
// appear once: member sees each name once.
func (s *headerScanner) object(member func(name []byte) bool) bool {
	empty, ok := s.enter('{', '}')
	if !ok || empty {
		return ok
	}
	var seenBuf [16][]byte
	seen := seenBuf[:0]
	for {
		start, end, escaped, ok := s.str()
		if !ok || escaped {
			return false
		}
		name := s.d[start:end]
		for _, n := range seen {
			if string(n) == string(name) {
				return false
			}
		}
		seen = append(seen, name)
		if !s.colon() || !member(name) {
			return false
		}
		if more, ok := s.next('}'); !more {
			return ok
		}
	}
}

// array reads an array at s.i, calling elem for each element with the
// scanner at it.
func (s *headerScanner) array(elem func() bool) bool {
	empty, ok := s.enter('[', ']')
	if !ok || empty {
		return ok
	}
	for {
		if !elem() {
			return false
		}
		if more, ok := s.next(']'); !more {
			return ok
		}
	}
}

// enter steps into the object or array that open begins at s.i, and over
// it whole when it is empty (closed by closing).
func (s *headerScanner) enter(open, closing byte) (empty, ok bool) {
	if s.i >= len(s.d) || s.d[s.i] != open {
		return false, false
	}
	if s.depth++; s.depth > maxScanDepth {
		return false, false
	}
	s.i++
	s.ws()
	if s.i < len(s.d) && s.d[s.i] == closing {
		s.i++
		s.depth--
		return true, true
	}
	return false, true
}

// colon steps over the colon after a member's name and the whitespace
// around it.
func (s *headerScanner) colon() bool {
	s.ws()
	if s.i >= len(s.d) || s.d[s.i] != ':' {
		return false
	}
	s.i++
	s.ws()
	return true
}

// next steps over what follows a member or element: a comma (and the
// whitespace after it: more) or the closing byte, which ends the object
// or array.
func (s *headerScanner) next(closing byte) (more, ok bool) {
	s.ws()
	if s.i >= len(s.d) {
		return false, false
	}
	switch s.d[s.i] {
	case ',':
		s.i++
		s.ws()
		return true, true
	case closing:
		s.i++
		s.depth--
		return false, true
	}
	return false, false
}

// strStop marks the bytes that end a run of plain string content.
var strStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// stopIn tells whether any of the eight bytes of x is '"', '\\' or a
// control character (below 0x20): the zero-byte test of each comparison,
// which may report a byte after a true one (borrows), never misses one.
func stopIn(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	return ((q-ones)&^q|(b-ones)&^b|(x-ones*0x20)&^x)&highs != 0
}

// str steps over a string at s.i and returns its content's bounds and
// whether it holds an escape.
func (s *headerScanner) str() (start, end int, escaped, ok bool) {
	if s.i >= len(s.d) || s.d[s.i] != '"' {
		return 0, 0, false, false
	}
	d, i := s.d, s.i+1
	start = i
	for {
		// Eight bytes at a time while none of them ends the run, then
		// byte by byte to the one that does.
		for i+8 <= len(d) && !stopIn(binary.LittleEndian.Uint64(d[i:])) {
			i += 8
		}
		for i < len(d) && !strStop[d[i]] {
			i++
		}
		if i >= len(d) {
			return 0, 0, false, false
		}
		c := d[i]
		switch c {
		case '"':
			s.i = i + 1
			return start, i, escaped, true
		case '\\':
			escaped = true
			if i+1 >= len(d) {
				return 0, 0, false, false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) {
					return 0, 0, false, false
				}
				var r rune
				for _, h := range d[i+2 : i+6] {
					switch {
					case '0' <= h && h <= '9':
						r = r<<4 | rune(h-'0')
					case 'a' <= h && h <= 'f':
						r = r<<4 | rune(h-'a'+10)
					case 'A' <= h && h <= 'F':
						r = r<<4 | rune(h-'A'+10)
					default:
						return 0, 0, false, false
					}
				}
				if 0xD800 <= r && r <= 0xDFFF {
					return 0, 0, false, false
				}
				i += 6
			default:
				return 0, 0, false, false
			}
		default: // a control character
			return 0, 0, false, false
		}
	}
}

// plainString reads a string without escapes, in valid UTF-8.
func (s *headerScanner) plainString() (string, bool) {
	b, ok := s.plainBytes()
	return string(b), ok
}

// plainBytes reads a string without escapes, in valid UTF-8, as the
// document's bytes (nil when it is not one).
func (s *headerScanner) plainBytes() ([]byte, bool) {
	start, end, escaped, ok := s.str()
	if !ok || escaped {
		return nil, false
	}
	b := s.d[start:end]
	for _, c := range b {
		if c >= utf8.RuneSelf {
			if !utf8.Valid(b) {
				return nil, false
			}
			break
		}
	}
	return b, true
}

// ecosystem reads an ecosystem name; a record's affected entries mostly
// repeat one, kept once.
func (s *headerScanner) ecosystem() (string, bool) {
	b, ok := s.plainBytes()
	if !ok {
		return "", false
	}
	if string(b) != s.lastEco {
		s.lastEco = string(b)
	}
	return s.lastEco, true
}

// rangeType reads a range type, without a copy when it is a known one.
func (s *headerScanner) rangeType() (string, bool) {
	b, ok := s.plainBytes()
	if !ok {
		return "", false
	}
	switch string(b) {
	case RangeSemver:
		return RangeSemver, true
	case RangeEcosystem:
		return RangeEcosystem, true
	case RangeGit:
		return RangeGit, true
	}
	return string(b), true
}

// time reads a timestamp as Time.UnmarshalJSON does, giving up on the
// empty string (the general decoder's case).
func (s *headerScanner) time() (Time, bool) {
	v, ok := s.plainString()
	if !ok || v == "" {
		return Time{}, false
	}
	t, err := ParseTime(v)
	return t, err == nil
}

// strings reads an array of strings.
func (s *headerScanner) strings() ([]string, bool) {
	out := []string{}
	ok := s.array(func() bool {
		v, ok := s.plainString()
		out = append(out, v)
		return ok
	})
	return out, ok
}

// affected reads the affected list's packages and range types.
func (s *headerScanner) affected() ([]HeaderAffected, bool) {
	out := []HeaderAffected{}
	ok := s.array(func() bool {
		var a HeaderAffected
		if !s.object(func(name []byte) bool {
			switch string(name) {
			case "package":
				return s.object(func(name []byte) bool {
					var ok bool
					switch string(name) {
					case "ecosystem":
						a.Package.Ecosystem, ok = s.ecosystem()
					case "name":
						a.Package.Name, ok = s.plainString()
					case "purl":
						a.Package.PURL, ok = s.plainString()
					default:
						return s.skipUnless(name, "ecosystem", "name", "purl")
					}
					return ok
				})
			case "ranges":
				a.Ranges = []HeaderRange{}
				return s.array(func() bool {
					var r HeaderRange
					ok := s.object(func(name []byte) bool {
						if string(name) == "type" {
							var ok bool
							r.Type, ok = s.rangeType()
							return ok
						}
						return s.skipUnless(name, "type")
					})
					a.Ranges = append(a.Ranges, r)
					return ok
				})
			}
			return s.skipUnless(name, "package", "ranges")
		}) {
			return false
		}
		out = append(out, a)
		return true
	})
	return out, ok
}

// skipUnless steps over the value of member name unless the general
// decoder would take name for one of fields (case-insensitively, ignoring
// "-" and "_"), or name is not ASCII.
func (s *headerScanner) skipUnless(name []byte, fields ...string) bool {
	for _, f := range fields {
		if foldedEqual(name, f) {
			return false
		}
	}
	return s.skip()
}

// foldedEqual tells whether name, lowercased and without "-" and "_",
// equals field (lowercase ASCII), or whether name is not ASCII.
func foldedEqual(name []byte, field string) bool {
	j := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= utf8.RuneSelf:
			return true
		case c == '-' || c == '_':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if j >= len(field) || field[j] != c {
			return false
		}
		j++
	}
	return j == len(field)
}

// skip steps over any value, checking its syntax.
func (s *headerScanner) skip() bool {
	if s.i >= len(s.d) {
		return false
	}
	switch c := s.d[s.i]; {
	case c == '"':
		_, _, _, ok := s.str()
		return ok
	case c == '{':
		return s.skipObject()
	case c == '[':
		return s.array(s.skip)
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	}
	return false
}

// skipObject steps over an object at s.i (a '{'), checking its syntax.
func (s *headerScanner) skipObject() bool {
	empty, ok := s.enter('{', '}')
	if !ok || empty {
		return ok
	}
	for {
		if _, _, _, ok := s.str(); !ok || !s.colon() || !s.skip() {
			return false
		}
		if more, ok := s.next('}'); !more {
			return ok
		}
	}
}

func (s *headerScanner) literal(lit string) bool {
	if len(s.d)-s.i < len(lit) || string(s.d[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// number steps over a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *headerScanner) number() bool {
	d, i := s.d, s.i
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return false
		}
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return false
		}
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
	}
	s.i = i
	return true
}
