package osvmirror

import (
	"context"
	"io"
	"strings"
	"sync"

	"github.com/vulngate/vulngate/internal/store"
)

// begun is the first reads of an ecosystem's sync: its partition state,
// the IDs it stores and the response to its modified_id.csv (the last two
// for an incremental sync). Each is a result to wait for; stored and list
// are nil when the sync reads them itself.
type begun struct {
	partition func() (store.PartitionState, error)
	stored    func() (storedIDs, error)
	list      func() (io.ReadCloser, error)
}

// takeList returns the response to modified_id.csv, nil when it was not
// requested; it is the caller's to close from then on.
func (b *begun) takeList() func() (io.ReadCloser, error) {
	list := b.list
	b.list = nil
	return list
}

// close waits for what was begun and closes a response nobody took.
func (b *begun) close() {
	b.partition()
	if b.stored != nil {
		b.stored()
	}
	if list := b.takeList(); list != nil {
		if rc, err := list(); err == nil {
			rc.Close()
		}
	}
}

// earlyStarts are the syncs of the first ecosystems the selection names,
// begun before the source's ecosystems.txt confirms it: while Sync reads
// that list and collects abandoned imports, their modified_id.csv files
// are requested and, once the collection is done, their partition states
// and stored IDs are read, one ecosystem after the other (each read waits
// for the one before, so they take one of the store's connections: a
// second SQLite connection costs its schema's parsing). An incremental
// sync had begun with those steps one after the other (the corpus's Go
// delta: ~1.3 ms before its list was requested, its stored IDs read
// ~1.5 ms after). A start the selection does not name as the source
// spells it is closed unused, and a full import closes its ecosystem's
// response at once.
type earlyStarts struct {
	cancel context.CancelFunc // ends what was begun once the sync is over
	mu     sync.Mutex
	starts map[string]*begun
}

// beginEarly begins the syncs of the first n ecosystems of the selection
// (none when every sync is a full import) once collected (the collection
// of abandoned imports) returns. Names that could not be a source's
// ecosystem are left to the selection's validation.
func (m *Mirror) beginEarly(ctx context.Context, n int, collected func()) *earlyStarts {
	ctx, cancel := context.WithCancel(ctx)
	e := &earlyStarts{cancel: cancel, starts: map[string]*begun{}}
	if m.opts.ForceFull {
		return e
	}
	prev := collected
	for _, eco := range m.opts.Ecosystems {
		if len(e.starts) == n {
			break
		}
		eco = strings.TrimSpace(eco)
		base, _ := splitSelection(eco)
		if eco == "" || e.starts[eco] != nil || strings.ContainsAny(base, "/\\") || strings.Contains(base, "..") {
			continue
		}
		b := &begun{}
		after := prev
		b.partition = async(func() (store.PartitionState, error) {
			after()
			return m.store.Partition(ctx, eco)
		})
		b.stored = async(func() (storedIDs, error) {
			if _, err := b.partition(); err != nil {
				return storedIDs{}, err
			}
			return m.readStored(ctx, eco)
		})
		b.list = async(func() (io.ReadCloser, error) {
			return m.fetch.open(ctx, base+"/modified_id.csv")
		})
		prev = func() { b.stored() }
		e.starts[eco] = b
	}
	return e
}

// take returns eco's start, nil when there is none; it is the caller's
// from then on.
func (e *earlyStarts) take(eco string) *begun {
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.starts[eco]
	delete(e.starts, eco)
	return b
}

// close ends the starts nobody took, once the sync is over.
func (e *earlyStarts) close() {
	e.cancel()
	e.mu.Lock()
	starts := e.starts
	e.starts = nil
	e.mu.Unlock()
	for _, b := range starts {
		b.close()
	}
}
