package osvmirror

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/store"
)

// fetchRecord downloads and checks <base>/<id>.json. A record that is too
// large or not a usable OSV record comes back marked malformed; the error
// is for download failures only.
func (m *Mirror) fetchRecord(ctx context.Context, base, id string) (fetchedRecord, error) {
	rc, err := m.fetch.open(ctx, base+"/"+id+".json")
	if err != nil {
		return fetchedRecord{}, err
	}
	var data []byte
	_, err = readAllLimited(rc, &data, maxRecordSize)
	rc.Close()
	switch {
	case errors.Is(err, errTooLarge):
		return fetchedRecord{malformed: "record exceeds the size limit"}, nil
	case err != nil:
		return fetchedRecord{}, err
	}
	fr := fetchedRecord{data: data}
	v, err := osv.ParseHeader(data)
	switch {
	case err != nil:
		fr.malformed = err.Error()
	case v.ID != id:
		fr.malformed = fmt.Sprintf("file holds record %q", v.ID)
	default:
		fr.v = v
	}
	return fr, nil
}

type fetchedRecord struct {
	v         *osv.Header
	data      []byte
	deflated  []byte // data compressed as the store keeps it
	malformed string
}

// maxEarly bounds the records a delta asks for before it has read all of
// modified_id.csv (downloads.add never waits for a worker up to it).
const maxEarly = 256

// downloads fetches <base>/<id>.json records with bounded concurrency: a
// worker per recordsPerWorker records asked for, up to fetchWorkers. IDs
// come in two steps: add (at most maxEarly, while modified_id.csv is still
// being read) and finish (the rest; no more after). Each usable record is
// compressed for the store as it arrives, on the collecting goroutine
// (store.DeflateAlone). A missing file yields errNotFound so the caller can fall
// back to all.zip; other failures abort.
type downloads struct {
	m       *Mirror
	ctx     context.Context
	cancel  context.CancelFunc
	base    string
	jobs    chan string
	results chan fetchResult
	wg      sync.WaitGroup
	workers int
	asked   map[string]bool
	ended   bool // finish was called
	done    chan struct{}
	out     map[string]fetchedRecord
	err     error
}

type fetchResult struct {
	id  string
	fr  fetchedRecord
	err error
}

func (m *Mirror) startDownloads(ctx context.Context, base string) *downloads {
	ctx, cancel := context.WithCancel(ctx)
	d := &downloads{m: m, ctx: ctx, cancel: cancel, base: base, jobs: make(chan string, maxEarly),
		results: make(chan fetchResult), asked: map[string]bool{}, done: make(chan struct{})}
	go d.collect()
	return d
}

// add asks for one record before finish; it returns false (asking for
// nothing) once maxEarly records were asked for.
func (d *downloads) add(id string) bool {
	if len(d.asked) >= maxEarly {
		return false
	}
	if !d.asked[id] {
		d.asked[id] = true
		d.grow(len(d.asked))
		d.jobs <- id
	}
	return true
}

// finish asks for the records of ids not asked for yet; nothing is added
// after it.
func (d *downloads) finish(ids []string) {
	d.ended = true
	var rest []string
	for _, id := range ids {
		if !d.asked[id] {
			rest = append(rest, id)
		}
	}
	d.grow(len(d.asked) + len(rest))
	go func() {
		for _, id := range rest {
			select {
			case d.jobs <- id:
			case <-d.ctx.Done():
			}
		}
		close(d.jobs)
		d.wg.Wait()
		close(d.results)
	}()
}

// grow starts workers for n records asked for in all.
func (d *downloads) grow(n int) {
	for ; d.workers < min(fetchWorkers, (n+recordsPerWorker-1)/recordsPerWorker); d.workers++ {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			for id := range d.jobs {
				fr, err := d.m.fetchRecord(d.ctx, d.base, id)
				d.results <- fetchResult{id, fr, err}
			}
		}()
	}
}

func (d *downloads) collect() {
	defer close(d.done)
	d.out = map[string]fetchedRecord{}
	for r := range d.results {
		switch {
		case d.err != nil:
		case r.err != nil:
			d.err = r.err
			d.cancel()
		default:
			if r.fr.v != nil {
				r.fr.deflated = store.DeflateAlone(r.fr.data)
			}
			d.out[r.id] = r.fr
		}
	}
	if d.err == nil {
		d.err = d.ctx.Err()
	}
}

// wait returns the records fetched (after finish).
func (d *downloads) wait() (map[string]fetchedRecord, error) {
	<-d.done
	d.cancel()
	if d.err != nil {
		return nil, d.err
	}
	return d.out, nil
}

// stop cancels the downloads and waits for their goroutines.
func (d *downloads) stop() {
	d.cancel()
	select {
	case <-d.done:
		return
	default:
	}
	if !d.ended {
		d.finish(nil)
	}
	<-d.done
}

// fetchRecords downloads <base>/<id>.json for each id (see downloads).
func (m *Mirror) fetchRecords(ctx context.Context, base string, ids []string) (map[string]fetchedRecord, error) {
	d := m.startDownloads(ctx, base)
	d.finish(ids)
	return d.wait()
}
