package match

// The scan's record cache: each stored record read by a scan is inflated,
// parsed and prepared once, on the scanner's workers, while the next
// names are read from the store.

import (
	"context"
	"fmt"
	"sync"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/store"
)

// deflatedAdvisories is implemented by a store that can give records as
// stored (*store.Store): the scanner then inflates them on its parsing
// workers, while the next names are read.
type deflatedAdvisories interface {
	AdvisoriesForNamesDeflated(ctx context.Context, ecosystem string, names []string) (map[string][]store.Advisory, error)
}

// recordCache parses (and prepares, see [prepared]) each stored record
// once per scan.
type recordCache struct {
	mu    sync.Mutex
	m     map[string]*parsed
	preps map[*osv.Vulnerability]*prepared
	// lean: each record loses, once parsed, what a report-only scan
	// never reads (see stripUnread).
	lean bool
}

func newRecordCache() *recordCache {
	return &recordCache{m: map[string]*parsed{}, preps: map[*osv.Vulnerability]*prepared{}}
}

type parsed struct {
	once   sync.Once
	v      *osv.Vulnerability
	prep   *prepared
	err    error
	source string
	// storeErr: err is the store's (a document that does not inflate),
	// which fails the scan as a lookup error would.
	storeErr bool
}

// prepOf returns the prepared form of a record of the cache, nil for
// other records.
func (c *recordCache) prepOf(v *osv.Vulnerability) *prepared {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.preps[v]
}

// severityOf is severity.ForVulnerability, computed once per record of
// the cache: a record matching many components (and its alias group's)
// would be scored for each.
func (c *recordCache) severityOf(v *osv.Vulnerability) severity.Score {
	p := c.prepOf(v)
	if p == nil {
		return severity.ForVulnerability(v)
	}
	p.sevOnce.Do(func() { p.sev = severity.ForVulnerability(v) })
	return p.sev
}

// keepOnly drops the parsed records that no component matched, once
// every component is evaluated: at the scan's memory peak (alias groups,
// upgrade advice) they were a large part of the live heap. A dropped
// record that an alias group needs is read again (has says no).
func (c *recordCache) keepOnly(out []ComponentResult) {
	matched := map[*osv.Vulnerability]bool{}
	for i := range out {
		for _, h := range out[i].hits {
			matched[h.Vuln] = true
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, p := range c.m {
		if p.err == nil && !matched[p.v] {
			delete(c.m, k)
			delete(c.preps, p.v)
		}
	}
}

// has reports whether the record is cached (parsed, or being parsed).
func (c *recordCache) has(part, id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[part+"\x00"+id]
	return ok
}

func (c *recordCache) get(a store.Advisory) (*osv.Vulnerability, string, error) {
	p := c.entry(a, nil)
	return p.v, p.source, p.err
}

// entry returns the record parsed and prepared. When buf is not nil,
// a.Data is as stored (see store.Inflate) and is inflated into *buf,
// which the caller reuses for its next record (osv.Parse copies what it
// keeps).
func (c *recordCache) entry(a store.Advisory, buf *[]byte) *parsed {
	key := a.Partition + "\x00" + a.ID
	c.mu.Lock()
	p, ok := c.m[key]
	if !ok {
		p = &parsed{source: a.Source}
		c.m[key] = p
	}
	c.mu.Unlock()
	p.once.Do(func() {
		if p.v, p.storeErr, p.err = parseStored(a, buf, c.lean); p.err == nil {
			if c.lean {
				stripUnread(p.v)
			}
			p.prep = prepare(p.v)
			c.mu.Lock()
			c.preps[p.v] = p.prep
			c.mu.Unlock()
		}
	})
	return p
}

// parseStored parses a record read from the store, without its
// references and credits when lean (osv.ParseLean). When buf is not nil,
// a.Data is as stored (see store.Inflate) and is inflated into *buf,
// which the caller reuses for its next record (osv.Parse copies what it
// keeps). A document that does not inflate is the store's error
// (stored): it fails a scan as a lookup error would, where a record that
// does not parse is reported where it matches.
func parseStored(a store.Advisory, buf *[]byte, lean bool) (v *osv.Vulnerability, stored bool, err error) {
	data := a.Data
	if buf != nil {
		if data, err = store.InflateInto(*buf, data); err != nil {
			return nil, true, fmt.Errorf("%s: %w", a.ID, err)
		}
		*buf = data
	}
	if lean {
		v, err = osv.ParseLean(data)
	} else {
		v, err = osv.Parse(data)
	}
	return v, false, err
}

// parsing parses the records the lookups read into the cache, on the
// scanner's workers, each distinct record once.
type parsing struct {
	todo     chan parseJob
	wg       sync.WaitGroup
	seen     map[string]bool
	deflated bool // the store gives records as stored (deflatedAdvisories)

	mu  sync.Mutex
	err error // the first document that did not inflate
}

type parseJob struct {
	a   store.Advisory
	eco string
}

// parseQueue bounds the records read but not yet parsed (as stored, a
// record is ~1 KB).
const parseQueue = 4096

func (s *Scanner) startParsing(cache *recordCache) *parsing {
	p := &parsing{todo: make(chan parseJob, parseQueue), seen: map[string]bool{}}
	_, p.deflated = s.src.(deflatedAdvisories)
	for range s.workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			var buf []byte
			for j := range p.todo {
				var in *[]byte
				if p.deflated {
					in = &buf
				}
				if e := cache.entry(j.a, in); e.storeErr {
					p.mu.Lock()
					if p.err == nil {
						p.err = fmt.Errorf("looking up %s packages: %w", j.eco, e.err)
					}
					p.mu.Unlock()
				}
			}
		}()
	}
	return p
}

func (p *parsing) add(eco string, a store.Advisory) {
	if k := a.Partition + "\x00" + a.ID; !p.seen[k] {
		p.seen[k] = true
		p.todo <- parseJob{a, eco}
	}
}

// wait returns once every record handed over is parsed, with the first
// store error met.
func (p *parsing) wait() error {
	close(p.todo)
	p.wg.Wait()
	return p.err
}
