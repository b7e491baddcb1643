package osv

import (
	"slices"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The decoder grows a slice one element at a time (doubling, as append
// does): a record's lists (affected entries, ranges, events, versions,
// aliases) left as much garbage as they hold, and kept up to twice the
// room they use. exactList decodes a list into a reused buffer and keeps
// a copy of exactly its length instead; a list that is not a JSON array
// (null, or a value of the wrong kind) goes the decoder's usual way, with
// its usual errors.

// growing is []E under another type, so that decoding into it takes the
// decoder's own slice path rather than exactList again.
type growing[E any] []E

func exactList[E any]() *jsonv2.Unmarshalers {
	var bufs sync.Pool
	return jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, v *[]E) error {
		if dec.PeekKind() != '[' {
			return jsonv2.SkipFunc
		}
		p, _ := bufs.Get().(*growing[E])
		if p == nil {
			p = new(growing[E])
		}
		defer func() {
			// Only the decoded elements are set: the rest of the
			// buffer is still zero (cleared here before, or new).
			clear(*p)
			*p = (*p)[:0]
			bufs.Put(p)
		}()
		if err := jsonv2.UnmarshalDecode(dec, p); err != nil {
			return err
		}
		if len(*p) == 0 {
			*v = []E{}
		} else {
			*v = slices.Clone([]E(*p))
		}
		return nil
	})
}

// matchLists are the lists matching reads, decoded at their length by
// both Parse and ParseLean.
var matchLists = []*jsonv2.Unmarshalers{
	exactList[string](),
	exactList[Affected](),
	exactList[Range](),
	exactList[Event](),
	exactList[Severity](),
}

var exactLists = jsonv2.WithUnmarshalers(jsonv2.JoinUnmarshalers(
	slices.Concat(matchLists, []*jsonv2.Unmarshalers{exactList[Reference](), exactList[Credit]()})...,
))

// skipList decodes nothing into a []E: the value is read past (and
// checked to be JSON) and the field left as it was.
func skipList[E any]() *jsonv2.Unmarshalers {
	return jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, _ *[]E) error {
		return dec.SkipValue()
	})
}

// leanLists are exactLists with a record's references and credits read
// past instead of decoded (ParseLean).
var leanLists = jsonv2.WithUnmarshalers(jsonv2.JoinUnmarshalers(
	slices.Concat([]*jsonv2.Unmarshalers{skipList[Reference](), skipList[Credit]()}, matchLists)...,
))
