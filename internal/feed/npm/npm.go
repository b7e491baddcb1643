// Package npm implements the npm registry protocol for a feed, as a
// read-only caching proxy: packuments (full and abbreviated, for plain and
// scoped names in both "@scope%2fname" and "@scope/name" spellings) with
// tarball URLs rewritten to the feed, version manifests
// (/<name>/<version or dist-tag>), tarballs, which pass the gate and are
// fetched from the feed's upstream by the registry layout, and npm audit's
// bulk and quick endpoints, answered from vulngate's own store with the
// feed's assessments (audit.go). Refusals are 403 with a JSON body whose
// "error" field npm prints, plus an npm-notice header that npm logs; so
// are upstream failures. When the feed filters blocked versions they stay
// in the packument marked "deprecated" with vulngate's reason: npm avoids
// them when resolving ranges and prints the reason when one is asked for.
//
// Left out: publishing, dist-tag changes, search and login.
package npm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/vulngate/vulngate/internal/feed"
)

// AbbreviatedType is the media type of abbreviated packuments.
const AbbreviatedType = "application/vnd.npm.install-v1+json"

// Handler serves npm feeds.
type Handler struct{ env *feed.Env }

// New returns the npm protocol handler.
func New(env *feed.Env) *Handler { return &Handler{env: env} }

// Names and versions are checked byte by byte (feed.Token); the tests
// hold the checks to these patterns:
//
//	name:    ^(?:@(?:P)/)?(?:P)$ with P = [A-Za-z0-9][A-Za-z0-9._~-]*|[_~-][A-Za-z0-9._~-]*
//	version: ^v?[0-9A-Za-z][0-9A-Za-z.+_-]{0,255}$
//
// The version check accepts semver-shaped versions (and the looser forms
// old packages carry) without path separators.
var (
	namePartFirst = feed.NewCharset("A-Za-z0-9_~-")
	namePartRest  = feed.NewCharset("A-Za-z0-9._~-")
	versionFirst  = feed.NewCharset("0-9A-Za-z")
	versionRest   = feed.NewCharset("0-9A-Za-z.+_-")
)

func namePart(s string) bool { return feed.Token(s, namePartFirst, namePartRest, len(s)) }

// validVersion reports whether v is a version the feed passes on.
func validVersion(v string) bool {
	return feed.Token(v, versionFirst, versionRest, 255) || len(v) > 1 && v[0] == 'v' && feed.Token(v[1:], versionFirst, versionRest, 255)
}

// ValidName reports whether name is an npm package name that is safe to
// proxy (at most 214 characters, no "." or ".." segments).
func ValidName(name string) bool {
	if len(name) > 214 {
		return false
	}
	if scoped, ok := strings.CutPrefix(name, "@"); ok {
		scope, rest, ok := strings.Cut(scoped, "/")
		if !ok || !namePart(scope) || !namePart(rest) {
			return false
		}
	} else if !namePart(name) {
		return false
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "." || seg == ".." || strings.HasPrefix(strings.TrimPrefix(seg, "@"), ".") {
			return false
		}
	}
	return true
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fr := feed.RequestFrom(r.Context())
	if fr == nil {
		feed.NotFound(w)
		return
	}
	p, err := url.PathUnescape(fr.Path)
	if err != nil {
		feed.BadRequest(w, "invalid path escaping")
		return
	}
	p = strings.TrimSuffix(p, "/")
	switch p {
	case "-/ping":
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}\n"))
		return
	case auditBulkPath:
		h.auditBulk(w, r, fr)
		return
	case auditQuickPath:
		h.auditQuick(w, r, fr)
		return
	}
	if r.Method == http.MethodPost {
		feed.NotFound(w)
		return
	}
	if p == "" || strings.HasPrefix(p, "-/") {
		feed.NotFound(w)
		return
	}
	if name, file, ok := strings.Cut(p, "/-/"); ok {
		h.tarball(w, r, fr, name, file)
		return
	}
	if ValidName(p) {
		h.packument(w, r, fr, p)
		return
	}
	// /<name>/<version or dist-tag>
	if i := strings.LastIndexByte(p, '/'); i > 0 && ValidName(p[:i]) && validVersion(p[i+1:]) {
		h.manifest(w, r, fr, p[:i], p[i+1:])
		return
	}
	feed.BadRequest(w, fmt.Sprintf("invalid npm package name %q", p))
}

// AllowsPost reports whether a POST to path (below the feed) is served:
// npm audit's endpoints.
func (h *Handler) AllowsPost(path string) bool {
	return path == auditBulkPath || path == auditQuickPath
}

// escapeName spells a name the way registries take it in a packument URL:
// "@scope%2fname".
func escapeName(name string) string {
	if scope, rest, ok := strings.Cut(name, "/"); ok {
		return url.PathEscape(scope) + "%2f" + url.PathEscape(rest)
	}
	return url.PathEscape(name)
}

func (h *Handler) fetchPackument(ctx context.Context, fr *feed.Request, name string, abbreviated bool) (*feed.Meta, error) {
	return h.env.Cache.Metadata(ctx, packumentRequest(fr.Feed, name, abbreviated))
}

// packumentRequest asks for a full or abbreviated packument.
func packumentRequest(f feed.Feed, name string, abbreviated bool) feed.MetaRequest {
	key, accept := "packument/"+name, "application/json"
	if abbreviated {
		key, accept = "abbreviated/"+name, AbbreviatedType+"; q=1.0, application/json; q=0.8, */*"
	}
	return feed.MetaRequest{Feed: f, Key: key, URL: f.Upstream + "/" + escapeName(name), Accept: accept}
}

func (h *Handler) packument(w http.ResponseWriter, r *http.Request, fr *feed.Request, name string) {
	ctx := r.Context()
	abbreviated := strings.Contains(r.Header.Get("Accept"), AbbreviatedType)
	m, err := h.fetchPackument(ctx, fr, name, abbreviated)
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleJSON)
		return
	}
	variant := "full"
	if abbreviated {
		variant = "abbreviated"
	}
	body, err := h.env.Cache.Rendered(fr.Feed.Name, "packument/"+name, m, h.env.RenderKey(ctx, fr, variant), func() ([]byte, error) {
		return h.rewrite(ctx, fr, name, m.Body)
	})
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleJSON)
		return
	}
	ct := "application/json"
	if abbreviated && strings.HasPrefix(m.ContentType, AbbreviatedType) {
		ct = AbbreviatedType
	}
	feed.ServeMeta(w, r, m, ct, body)
}

// rewrite points tarball URLs at the feed and, when the feed filters,
// drops blocked versions (and dist-tags naming them).
func (h *Handler) rewrite(ctx context.Context, fr *feed.Request, name string, body []byte) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("npm packument of %s: %w", name, err)
	}
	var versions map[string]map[string]json.RawMessage
	if raw, ok := doc["versions"]; ok {
		if err := json.Unmarshal(raw, &versions); err != nil {
			return nil, fmt.Errorf("npm packument of %s: versions: %w", name, err)
		}
	}
	all := make([]string, 0, len(versions))
	for v := range versions {
		all = append(all, v)
	}
	hidden, err := h.env.HiddenVersions(ctx, fr, name, all)
	if err != nil {
		return nil, err
	}
	blocked := map[string]bool{}
	base := path.Base(name)
	for v, man := range versions {
		if d := hidden[v]; d != nil {
			// Kept, but deprecated with the reason: npm avoids it in
			// ranges and prints the reason when it is asked for by name.
			blocked[v] = true
			man["deprecated"], _ = json.Marshal(feed.ShortMessage(d))
		}
		var dist map[string]json.RawMessage
		if raw, ok := man["dist"]; ok {
			if err := json.Unmarshal(raw, &dist); err != nil {
				return nil, fmt.Errorf("npm packument of %s %s: dist: %w", name, v, err)
			}
		}
		if dist == nil {
			dist = map[string]json.RawMessage{}
		}
		file := base + "-" + v + ".tgz"
		var orig string
		if json.Unmarshal(dist["tarball"], &orig) == nil {
			if u, err := url.Parse(orig); err == nil && path.Base(u.Path) == file {
				file = path.Base(u.Path)
			}
		}
		dist["tarball"], _ = json.Marshal(fr.Base + "/" + name + "/-/" + file)
		man["dist"], _ = json.Marshal(dist)
	}
	if versions != nil {
		doc["versions"], _ = json.Marshal(versions)
	}
	if len(blocked) > 0 {
		filterTags(doc, versions, blocked)
	}
	return json.Marshal(doc)
}

// filterTags repoints dist-tags that name blocked versions: "latest" to
// the highest remaining release, others are dropped.
func filterTags(doc map[string]json.RawMessage, versions map[string]map[string]json.RawMessage, blocked map[string]bool) {
	var tags map[string]string
	if json.Unmarshal(doc["dist-tags"], &tags) != nil || tags == nil {
		return
	}
	remaining := make([]string, 0, len(versions))
	for v := range versions {
		if !blocked[v] {
			remaining = append(remaining, v)
		}
	}
	for tag, v := range tags {
		if !blocked[v] {
			continue
		}
		delete(tags, tag)
		if tag == "latest" {
			if best := feed.HighestVersion("npm", remaining, func(s string) bool { return !strings.Contains(s, "-") }); best != "" {
				tags["latest"] = best
			}
		}
	}
	doc["dist-tags"], _ = json.Marshal(tags)
}

func (h *Handler) tarball(w http.ResponseWriter, r *http.Request, fr *feed.Request, name, file string) {
	if !ValidName(name) {
		feed.BadRequest(w, fmt.Sprintf("invalid npm package name %q", name))
		return
	}
	base := path.Base(name)
	version, ok := strings.CutPrefix(file, base+"-")
	if ok {
		version, ok = strings.CutSuffix(version, ".tgz")
	}
	if !ok || strings.ContainsAny(file, "/\\") || !validVersion(version) {
		feed.BadRequest(w, fmt.Sprintf("invalid npm tarball name %q for %s", file, name))
		return
	}
	pkg, err := feed.PackageFor(feed.NPM, name, version)
	if err != nil {
		feed.BadRequest(w, err.Error())
		return
	}
	h.env.ServeArtifact(w, r, fr, pkg, feed.StyleJSON, feed.ArtifactRequest{
		Key:         "tarball/" + name + "/" + file,
		ContentType: "application/octet-stream",
		// Always through the feed's configured upstream, by the registry
		// layout: never the absolute URL upstream metadata names (which
		// could point anywhere), and no second metadata request.
		URL: func(context.Context) (string, error) {
			return fr.Feed.Upstream + "/" + name + "/-/" + url.PathEscape(file), nil
		},
	})
}

// manifest answers /<name>/<version or dist-tag> with one version's
// manifest from the packument, rewritten like the packument.
func (h *Handler) manifest(w http.ResponseWriter, r *http.Request, fr *feed.Request, name, spec string) {
	ctx := r.Context()
	m, err := h.fetchPackument(ctx, fr, name, false)
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleJSON)
		return
	}
	body, err := h.env.Cache.Rendered(fr.Feed.Name, "packument/"+name, m, h.env.RenderKey(ctx, fr, "full"), func() ([]byte, error) {
		return h.rewrite(ctx, fr, name, m.Body)
	})
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleJSON)
		return
	}
	var doc struct {
		DistTags map[string]string          `json:"dist-tags"`
		Versions map[string]json.RawMessage `json:"versions"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		feed.WriteError(w, r, h.env.Log, fmt.Errorf("npm packument of %s: %w", name, err), feed.StyleJSON)
		return
	}
	v := spec
	if t, ok := doc.DistTags[spec]; ok {
		v = t
	}
	man, ok := doc.Versions[v]
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNotFound)
		b, _ := json.Marshal(map[string]string{"error": fmt.Sprintf("version not found: %s@%s", name, spec)})
		w.Write(b)
		return
	}
	feed.ServeMeta(w, r, m, "application/json", man)
}
