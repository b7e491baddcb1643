package store

import (
	"context"
	"strings"
	"time"
)

// FeedPackageAffected is a package version a feed tracks that has an open
// finding of a vulnerability, recorded in the feed's scope.
type FeedPackageAffected struct {
	Feed      string    `json:"feed"`
	PURL      string    `json:"purl"`
	Decision  string    `json:"decision"` // the last gate decision: allow, warn, block
	Downloads int       `json:"downloads"`
	Refused   int       `json:"refused"`
	LastSeen  time.Time `json:"last_seen"`
}

// FeedsAffectedBy lists, feed by feed, the tracked packages with an open
// finding carrying any of ids (a vulnerability's alias group), at most
// limit rows.
func (s *Store) FeedsAffectedBy(ctx context.Context, ids []string, limit int) ([]FeedPackageAffected, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(ids)+1)
	for _, id := range ids {
		args = append(args, id)
	}
	args = append(args, limit)
	q := `SELECT DISTINCT p.feed, p.purl, p.decision, p.downloads, p.refused, p.last_seen
FROM finding_vuln v JOIN finding f ON f.id = v.finding_id
JOIN feed_package p ON f.scope = 'feed:' || p.feed AND p.purl = f.purl
WHERE v.vuln_id IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + `) AND f.closed_at = ''
ORDER BY p.feed, p.purl LIMIT ?`
	return queryAll(ctx, s.db, s.Rebind(q), args, func(r scanner) (FeedPackageAffected, error) {
		var x FeedPackageAffected
		var seen string
		err := r.Scan(&x.Feed, &x.PURL, &x.Decision, &x.Downloads, &x.Refused, &seen)
		x.LastSeen = parseTime(seen)
		return x, err
	})
}
