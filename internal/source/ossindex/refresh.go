package ossindex

import (
	"context"
	"errors"
	"time"
)

// CacheMaintainer is what Refresh needs beyond Cache: the store's listing
// of stale answers and its pruning.
type CacheMaintainer interface {
	StaleOSSIndexCoordinates(ctx context.Context, before time.Time, limit int) ([]string, error)
	PruneOSSIndex(ctx context.Context, before time.Time) (int64, error)
}

// RefreshReport says what a Refresh did.
type RefreshReport struct {
	Refreshed int   // coordinates asked again
	Pruned    int64 // cache rows deleted
}

// refreshLimit bounds the coordinates one refresh asks about, so that a
// daily job stays well inside the service's rate limits.
const refreshLimit = 10000

// Refresh asks OSS Index again about cached coordinates whose answers are
// older than the cache TTL (so scans and downloads find them fresh), then
// prunes answers not refreshed for pruneAfter. It is the server's scheduled
// "OSS Index cache refresh" job.
func (s *Source) Refresh(ctx context.Context, pruneAfter time.Duration) (RefreshReport, error) {
	var rep RefreshReport
	m, ok := s.opts.Cache.(CacheMaintainer)
	if !ok {
		return rep, errors.New("OSS Index refresh: the cache cannot list or prune entries")
	}
	now := s.opts.Now()
	stale, err := m.StaleOSSIndexCoordinates(ctx, now.Add(-s.opts.CacheTTL), refreshLimit)
	if err != nil {
		return rep, err
	}
	if len(stale) > 0 {
		answers, err := s.fetch(ctx, stale)
		if err != nil {
			return rep, err
		}
		for _, c := range stale {
			if a, ok := answers[c]; ok && a.err == nil {
				rep.Refreshed++
			}
		}
	}
	rep.Pruned, err = m.PruneOSSIndex(ctx, now.Add(-pruneAfter))
	return rep, err
}
