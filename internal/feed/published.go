package feed

import (
	"context"
	"fmt"
	"time"

	"github.com/vulngate/vulngate/internal/purl"
)

// VersionList is what each protocol tells the gate about the versions its
// upstream publishes, for upgrade advice: which metadata documents list a
// package's versions (the requests the protocol itself caches them under:
// npm's packument, the PyPI project page, Go's @v/list,
// maven-metadata.xml, NuGet's flat container index) and how to read the
// versions from one. Env.Published reads them from the cache.
type VersionList interface {
	// VersionDocs returns the requests of the documents listing pkg's
	// versions; any cached one will do, the first is fetched when none
	// is cached and fetching is allowed.
	VersionDocs(ctx context.Context, f Feed, pkg purl.Package) ([]MetaRequest, error)
	// ParseVersions reads the versions a document publishes, leaving out
	// the ones the upstream withdrew (yanked, deprecated).
	ParseVersions(pkg purl.Package, m *Meta) ([]string, error)
}

// fetchVersionsTimeout bounds the one upstream request a refusal may make
// for a version list nobody fetched yet.
const fetchVersionsTimeout = 5 * time.Second

// Published returns the versions f's upstream publishes of pkg, from the
// metadata the feed has cached (in memory or in the store, fresh or not:
// the list only grows), parsed once per cached document. With fetch,
// when nothing is cached, the first document is fetched through the
// cache (one upstream request, then cached with the feed's TTL); without
// it the upstream is never asked. ok is false when no list is known.
func (e *Env) Published(ctx context.Context, f Feed, pkg purl.Package, fetch bool) (versions []string, ok bool) {
	vl := e.Lists[Type(f.Type)]
	if vl == nil {
		return nil, false
	}
	reqs, err := vl.VersionDocs(ctx, f, pkg)
	if err != nil || len(reqs) == 0 {
		return nil, false
	}
	for _, req := range reqs {
		req.Feed = f
		if m, ok := e.Cache.Cached(ctx, req); ok {
			if vs, err := e.Cache.versions(req, m, pkg, vl); err == nil {
				return vs, true
			}
		}
	}
	if !fetch {
		return nil, false
	}
	req := reqs[0]
	req.Feed = f
	fctx, cancel := context.WithTimeout(ctx, fetchVersionsTimeout)
	defer cancel()
	m, err := e.Cache.Metadata(fctx, req)
	if err != nil {
		e.Log.Info("feed: no version list for upgrade advice", "feed", f.Name, "purl", pkg.PURL, "err", err)
		return nil, false
	}
	vs, err := e.Cache.versions(req, m, pkg, vl)
	return vs, err == nil
}

// Cached returns the cached copy of a metadata document, fresh or not,
// from memory or the store, without asking the upstream.
func (c *Cache) Cached(ctx context.Context, req MetaRequest) (*Meta, bool) {
	k := req.Feed.Name + "\x00" + req.Key
	if v, ok := c.mem.get(k); ok {
		return v.(*Meta), true
	}
	sm, ok, err := c.st.FeedMetadata(ctx, req.Feed.Name, req.Key)
	if err != nil || !ok {
		return nil, false
	}
	m := &Meta{Body: sm.Body, ContentType: sm.ContentType, ETag: sm.ETag, FetchedAt: sm.FetchedAt, id: c.version.Add(1)}
	c.mem.put(k, m, m.size())
	return m, true
}

// versions parses the version list of a cached document once per copy
// (keyed by when it was fetched and its size, which survive a reload from
// the store), keeping the result beside the rendered bodies.
func (c *Cache) versions(req MetaRequest, m *Meta, pkg purl.Package, vl VersionList) ([]string, error) {
	k := fmt.Sprintf("%s\x00versions\x00%s\x00%d\x00%d", req.Feed.Name, req.Key, m.FetchedAt.UnixNano(), len(m.Body))
	if v, ok := c.rendered.get(k); ok {
		return v.([]string), nil
	}
	vs, err := vl.ParseVersions(pkg, m)
	if err != nil {
		return nil, err
	}
	size := int64(64)
	for _, v := range vs {
		size += int64(len(v)) + 16
	}
	c.rendered.put(k, vs, size)
	return vs, nil
}
