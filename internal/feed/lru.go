package feed

import (
	"container/list"
	"strings"
	"sync"
)

// lru is a byte-bounded least-recently-used map.
type lru struct {
	mu    sync.Mutex
	limit int64
	size  int64
	ll    *list.List
	m     map[string]*list.Element
}

type lruEntry struct {
	key  string
	v    any
	size int64
}

func newLRU(limit int64) *lru {
	return &lru{limit: limit, ll: list.New(), m: map[string]*list.Element{}}
}

func (l *lru) get(k string) (any, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.m[k]
	if !ok {
		return nil, false
	}
	l.ll.MoveToFront(e)
	return e.Value.(*lruEntry).v, true
}

func (l *lru) put(k string, v any, size int64) {
	if size > l.limit/4 {
		return // too big to keep in memory; the store has it
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.m[k]; ok {
		l.size -= e.Value.(*lruEntry).size
		l.ll.Remove(e)
	}
	l.m[k] = l.ll.PushFront(&lruEntry{key: k, v: v, size: size})
	l.size += size
	for l.size > l.limit && l.ll.Len() > 0 {
		e := l.ll.Back()
		ent := e.Value.(*lruEntry)
		l.ll.Remove(e)
		delete(l.m, ent.key)
		l.size -= ent.size
	}
}

func (l *lru) removePrefix(prefix string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, e := range l.m {
		if strings.HasPrefix(k, prefix) {
			l.size -= e.Value.(*lruEntry).size
			l.ll.Remove(e)
			delete(l.m, k)
		}
	}
}

// flight runs one call per key at a time; concurrent callers share its
// result.
type flight struct {
	mu sync.Mutex
	m  map[string]*call
}

type call struct {
	wg  sync.WaitGroup
	v   any
	err error
}

func (f *flight) do(k string, fn func() (any, error)) (any, error) {
	f.mu.Lock()
	if f.m == nil {
		f.m = map[string]*call{}
	}
	if c, ok := f.m[k]; ok {
		f.mu.Unlock()
		c.wg.Wait()
		return c.v, c.err
	}
	c := &call{}
	c.wg.Add(1)
	f.m[k] = c
	f.mu.Unlock()
	c.v, c.err = fn()
	c.wg.Done()
	f.mu.Lock()
	delete(f.m, k)
	f.mu.Unlock()
	return c.v, c.err
}
