package report

import (
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/vulngate/vulngate/internal/match"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// The scan report's JSON written by hand: the same bytes as
// jsonenc.WriteIndented(jsonDoc) (two-space indentation, the types' field
// order, omitempty, strings escaped as that encoder escapes them), without
// reflection. Through reflection the encoding was ~15 ms of a
// 1,000-component scan (4.8 MB), at its end, on one core. TestJSONByHand
// holds the two to the same bytes and to the same fields.

// jsonWriter appends to a buffer that it hands to w every 32 KiB.
type jsonWriter struct {
	w   io.Writer
	b   []byte
	err error
}

const jsonFlushAt = 32 << 10

func (j *jsonWriter) flush() {
	if j.err == nil && len(j.b) > 0 {
		_, j.err = j.w.Write(j.b)
	}
	j.b = j.b[:0]
}

func (j *jsonWriter) maybeFlush() {
	if len(j.b) >= jsonFlushAt {
		j.flush()
	}
}

// obj opens and closes JSON objects; key writes a member's name after the
// separator and indentation that precede it.
type obj struct {
	j     *jsonWriter
	depth int // of the object's members
	n     int // members written
}

func (j *jsonWriter) open(depth int) obj {
	j.b = append(j.b, '{')
	return obj{j: j, depth: depth + 1}
}

func (o *obj) key(name string) {
	o.next()
	o.j.b = append(o.j.b, '"')
	o.j.b = append(o.j.b, name...)
	o.j.b = append(o.j.b, `": `...)
}

// next starts a member: the separator and the indentation.
func (o *obj) next() {
	if o.n > 0 {
		o.j.b = append(o.j.b, ',')
	}
	o.n++
	o.j.newline(o.depth)
}

func (o *obj) close() {
	if o.n > 0 {
		o.j.newline(o.depth - 1)
	}
	o.j.b = append(o.j.b, '}')
}

// indents holds a newline and the indentation of the deepest level the
// report reaches (a component's finding's members are at depth 5).
const indents = "\n                                "

func (j *jsonWriter) newline(depth int) {
	if n := 1 + 2*depth; n <= len(indents) {
		j.b = append(j.b, indents[:n]...)
		return
	}
	j.b = append(j.b, '\n')
	for range depth {
		j.b = append(j.b, "  "...)
	}
}

// plain marks the bytes a JSON string holds as they are: printable ASCII
// but for the quote, the backslash and what the encoder escapes for HTML.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

func (j *jsonWriter) str(s string) {
	i := 0
	for i < len(s) && plain[s[i]] {
		i++
	}
	if i == len(s) {
		j.b = append(j.b, '"')
		j.b = append(j.b, s...)
		j.b = append(j.b, '"')
		return
	}
	b := append(j.b, '"')
	b = append(b, s[:i]...)
	for i < len(s) {
		c := s[i]
		switch {
		case plain[c]:
			b = append(b, c)
			i++
			continue
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
			continue
		case c == '<' || c == '>' || c == '&':
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			i++
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError && r != '\u2028' && r != '\u2029' {
				b = append(b, s[i:i+size]...)
				i += size
				continue
			}
		}
		// Control characters, invalid UTF-8, U+2028 and U+2029: the
		// reflecting encoder's own quoting, for the whole string.
		q, _ := jsonv2.Marshal(s, jsonv1.DefaultOptionsV1())
		j.b = append(j.b, q...) // over what b began
		return
	}
	j.b = append(b, '"')
}

// list writes items with write; nil is null, as the reflecting encoder
// writes it.
func list[T any](j *jsonWriter, items []T, depth int, write func(*T)) {
	switch {
	case items == nil:
		j.b = append(j.b, "null"...)
	case len(items) == 0:
		j.b = append(j.b, "[]"...)
	default:
		j.b = append(j.b, '[')
		for i := range items {
			if i > 0 {
				j.b = append(j.b, ',')
			}
			j.newline(depth + 1)
			write(&items[i])
		}
		j.newline(depth)
		j.b = append(j.b, ']')
	}
}

func (j *jsonWriter) strs(items []string, depth int) {
	list(j, items, depth, func(s *string) { j.str(*s) })
}

func (j *jsonWriter) num(n int) { j.b = strconv.AppendInt(j.b, int64(n), 10) }

func (j *jsonWriter) boolean(v bool) { j.b = strconv.AppendBool(j.b, v) }

// float is encoding/json's float64 format, which jsonenc keeps (the caller has checked that
// f is finite: see finiteReport).
func (j *jsonWriter) float(f float64) {
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	j.b = strconv.AppendFloat(j.b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9
		if n := len(j.b); n >= 4 && j.b[n-4] == 'e' && j.b[n-3] == '-' && j.b[n-2] == '0' {
			j.b[n-2] = j.b[n-1]
			j.b = j.b[:n-1]
		}
	}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// finiteResults reports whether every number of the report can be
// written (NaN and infinities cannot: the reflecting encoder then reports
// the error).
func finiteResults(results []match.ComponentResult, sum Summary) bool {
	if !finite(sum.HighestScore) {
		return false
	}
	for i := range results {
		for _, f := range results[i].Findings {
			if !finite(f.Severity.Score) || (f.EPSS != nil && (!finite(f.EPSS.EPSS) || !finite(f.EPSS.Percentile))) {
				return false
			}
		}
	}
	return true
}

// Members of an object, by kind; the opt ones are left out when empty
// (omitempty).
func (o *obj) str(name, v string) {
	o.key(name)
	o.j.str(v)
}

func (o *obj) optStr(name, v string) {
	if v != "" {
		o.str(name, v)
	}
}

func (o *obj) strs(name string, v []string) {
	o.key(name)
	o.j.strs(v, o.depth)
}

func (o *obj) optStrs(name string, v []string) {
	if len(v) > 0 {
		o.strs(name, v)
	}
}

func (o *obj) num(name string, n int) {
	o.key(name)
	o.j.num(n)
}

func (o *obj) float(name string, f float64) {
	o.key(name)
	o.j.float(f)
}

func (o *obj) optTrue(name string, v bool) {
	if v {
		o.key(name)
		o.j.boolean(true)
	}
}

// sub opens an object as the member name.
func (o *obj) sub(name string) obj {
	o.key(name)
	return o.j.open(o.depth)
}

// writeJSONDoc writes doc as jsonenc.WriteIndented(w, doc) does, with
// the n components that component returns in place of doc.Components
// (as a list, never null).
func writeJSONDoc(w io.Writer, doc *jsonDoc, n int, component func(int) jsonComponent) error {
	j := &jsonWriter{w: w, b: make([]byte, 0, jsonFlushAt+4096)}
	o := j.open(0)
	o.str("schema", doc.Schema)
	t := o.sub("tool")
	t.str("name", doc.Tool.Name)
	t.str("version", doc.Tool.Version)
	t.close()
	o.strs("inputs", doc.Inputs)
	o.strs("sources", doc.Sources)
	o.key("components")
	j.b = append(j.b, '[')
	j.components(n, component)
	if n > 0 {
		j.newline(1)
	}
	j.b = append(j.b, ']')
	o.key("summary")
	j.summary(&doc.Summary, 1)
	o.close()
	j.b = append(j.b, '\n')
	j.flush()
	return j.err
}

// jsonChunk is how many components a worker of components encodes at a
// time.
var jsonChunk = 16

// jsonAhead bounds the chunks encoded and not yet written.
const jsonAhead = 4

// components writes the n components' list members, each preceded by its
// separator and indentation. More than a chunk of them are encoded by two
// workers, a chunk at a time into buffers of their own, and written in
// order by this goroutine: the report is written when the scan is done,
// on one core otherwise (~8 ms of a 1,000-component scan). At most
// jsonAhead chunks are held.
func (j *jsonWriter) components(n int, component func(int) jsonComponent) {
	encode := func(to *jsonWriter, from, upto int) {
		for i := from; i < upto; i++ {
			if i > 0 {
				to.b = append(to.b, ',')
			}
			to.newline(2)
			c := component(i)
			to.component(&c, 2)
		}
	}
	if n <= jsonChunk {
		for i := range n {
			encode(j, i, i+1)
			j.maybeFlush()
		}
		return
	}
	chunks := (n + jsonChunk - 1) / jsonChunk
	encoded := make([]chan []byte, chunks)
	for k := range encoded {
		encoded[k] = make(chan []byte, 1)
	}
	next := make(chan int)
	tokens := make(chan struct{}, jsonAhead)
	free := make(chan []byte, jsonAhead+2)
	go func() {
		defer close(next)
		for k := range chunks {
			tokens <- struct{}{}
			next <- k
		}
	}()
	for range 2 {
		go func() {
			for k := range next {
				var b []byte
				select {
				case b = <-free:
				default:
					// (a chunk of components is ~80 KB: grown from
					// nothing, each buffer left ~MBs of garbage;
					// ~6 are made, live beside a large scan's peak)
					b = make([]byte, 0, 96<<10)
				}
				to := jsonWriter{b: b[:0]}
				encode(&to, k*jsonChunk, min(n, (k+1)*jsonChunk))
				encoded[k] <- to.b
			}
		}()
	}
	for k := range chunks {
		b := <-encoded[k]
		j.b = append(j.b, b...)
		j.maybeFlush()
		select {
		case free <- b:
		default:
		}
		<-tokens
	}
}

func (j *jsonWriter) component(c *jsonComponent, depth int) {
	o := j.open(depth)
	o.str("purl", c.PURL)
	o.optStr("name", c.Name)
	o.optStr("version", c.Version)
	o.optStr("ecosystem", c.Ecosystem)
	o.optStr("bom_ref", c.BOMRef)
	o.optStrs("path", c.Path)
	o.key("findings")
	list(j, c.Findings, o.depth, func(f *jsonFinding) { j.finding(f, o.depth+1) })
	o.optStrs("errors", c.Errors)
	if d := c.Decision; d != nil {
		x := o.sub("decision")
		x.str("effect", d.Effect)
		x.strs("reasons", d.Reasons)
		x.str("message", d.Message)
		x.close()
	}
	if l := c.Location; l != nil {
		x := o.sub("location")
		x.str("file", l.File)
		if l.Line != 0 {
			x.num("line", l.Line)
		}
		x.close()
	}
	o.optStr("relationship", c.Relationship)
	if u := c.Upgrade; u != nil {
		x := o.sub("upgrade")
		x.optStr("version", u.Version)
		x.optStr("step", u.Step)
		x.num("fixes", u.Fixes)
		x.optStrs("unfixed", u.Unfixed)
		x.str("from", u.From)
		x.close()
	}
	o.close()
}

func (j *jsonWriter) finding(f *jsonFinding, depth int) {
	o := j.open(depth)
	o.str("id", f.ID)
	o.strs("ids", f.IDs)
	o.strs("aliases", f.Aliases)
	o.strs("records", f.Records)
	o.optStr("summary", f.Summary)
	s := o.sub("severity")
	s.float("score", f.Severity.Score)
	s.str("rating", f.Severity.Rating)
	s.optStr("type", f.Severity.Type)
	s.optStr("vector", f.Severity.Vector)
	s.optStr("source", f.Severity.Source)
	s.optStr("record", f.Severity.Record)
	s.optStr("origin", f.Severity.Origin)
	s.close()
	o.strs("fixed_versions", f.FixedVersions)
	o.strs("sources", f.Sources)
	if a := f.Assessment; a != nil {
		x := o.sub("assessment")
		x.str("status", a.Status)
		x.str("effect", a.Effect)
		x.optStr("type", a.Type)
		x.optStr("assessed_id", a.AssessedID)
		x.optStr("scope", a.Scope)
		x.optStr("by", a.By)
		x.optStr("at", a.At)
		x.optStr("expires", a.Expires)
		x.optStr("comment", a.Comment)
		x.optTrue("auto", a.Auto)
		x.optStr("builtin", a.Builtin)
		x.optTrue("malware_override", a.MalwareOverride)
		x.close()
	}
	o.optTrue("malicious", f.Malicious)
	o.optStr("malicious_id", f.MaliciousID)
	o.optStrs("matched", f.Matched)
	if e := f.EPSS; e != nil {
		x := o.sub("epss")
		x.str("cve", e.CVE)
		x.float("score", e.Score)
		x.float("percentile", e.Percentile)
		x.close()
	}
	if k := f.KnownExploited; k != nil {
		x := o.sub("known_exploited")
		x.str("cve", k.CVE)
		x.optStr("name", k.Name)
		x.str("date_added", k.DateAdded)
		x.optStr("due_date", k.DueDate)
		x.key("ransomware")
		j.boolean(k.Ransomware)
		x.optStr("required_action", k.RequiredAction)
		x.close()
	}
	o.optStrs("cwes", f.CWEs)
	o.optStr("published", f.Published)
	o.close()
}

func (j *jsonWriter) summary(s *Summary, depth int) {
	o := j.open(depth)
	o.num("components", s.Components)
	o.num("vulnerable", s.Vulnerable)
	o.num("findings", s.Findings)
	o.num("components_with_errors", s.WithErrors)
	o.key("by_rating")
	if s.ByRating == nil {
		j.b = append(j.b, "null"...)
	} else {
		r := j.open(o.depth)
		keys := make([]string, 0, len(s.ByRating))
		for k := range s.ByRating {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			r.next()
			j.str(k)
			j.b = append(j.b, ": "...)
			j.num(s.ByRating[k])
		}
		r.close()
	}
	o.float("highest_score", s.HighestScore)
	o.num("malicious", s.Malicious)
	o.close()
}
