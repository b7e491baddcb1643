// Package gomod implements the Go module proxy protocol (GOPROXY) for a
// feed, as a read-only caching proxy: $module/@v/list, $module/@v/$v.info,
// .mod and .zip, and $module/@latest, with case-encoded ("!"-escaped)
// module paths and versions, taken as the reference servers take them:
// the request path is percent-decoded first (the go command sends "!" as
// "%21"), then case-decoded and checked by golang.org/x/mod/module. Zips
// pass the gate; a refusal is a 403 with a text/plain body, which go
// prints (up to 8 lines). A block is never a 404 or 410, which would make
// go fall through to the next GOPROXY entry; an upstream's 404 and 410 are
// passed on as such (and remembered briefly), as are its 401 and 403.
//
// It also proxies a checksum database (/sumdb/<name>/supported, /latest,
// /lookup/..., /tile/...; see sumdb.go), so that the default GOSUMDB works
// where only vulngate reaches the internet.
//
// Left out: serving modules the upstream does not have, and checking
// downloads against the checksum database itself (the go command does).
package gomod

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/mod/module"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/lazyre"
)

// Options configures the Go module proxy.
type Options struct {
	// SumDB is the checksum database proxied under /sumdb/; zero value:
	// none (the go command then asks the database directly).
	SumDB SumDB
}

// Handler serves Go module feeds.
type Handler struct {
	env  *feed.Env
	opts Options
}

// New returns the Go module proxy handler.
func New(env *feed.Env, opts Options) *Handler { return &Handler{env: env, opts: opts} }

var (
	escapedPathRE    = lazyre.New(`^[a-z0-9.\-_~!]+(?:/[a-z0-9.\-_~!+]+)*$`)
	escapedVersionRE = lazyre.New(`^v[a-z0-9.\-+!]{1,200}$`)
)

// validPath decodes a case-encoded module path ("!x" is "X") and checks
// it (module.UnescapePath: a domain first, no "." or ".." elements, ...).
func validPath(escaped string) (string, bool) {
	if len(escaped) > 500 || !escapedPathRE.MatchString(escaped) {
		return "", false
	}
	p, err := module.UnescapePath(escaped)
	return p, err == nil
}

// validVersion decodes a case-encoded version.
func validVersion(escaped string) (string, bool) {
	if !escapedVersionRE.MatchString(escaped) {
		return "", false
	}
	v, err := module.UnescapeVersion(escaped)
	return v, err == nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fr := feed.RequestFrom(r.Context())
	if fr == nil {
		feed.NotFound(w)
		return
	}
	// The go command percent-encodes "!" (and would any other byte that
	// needs it); the reference servers decode the path first.
	p, err := url.PathUnescape(fr.Path)
	if err != nil {
		feed.BadRequest(w, "invalid path escaping")
		return
	}
	if rest, ok := strings.CutPrefix(p, "sumdb/"); ok {
		h.sumdb(w, r, fr, rest)
		return
	}
	if mod, ok := strings.CutSuffix(p, "/@latest"); ok {
		h.latest(w, r, fr, mod)
		return
	}
	mod, rest, ok := strings.Cut(p, "/@v/")
	if !ok {
		feed.NotFound(w)
		return
	}
	modPath, ok := validPath(mod)
	if !ok {
		feed.BadRequest(w, fmt.Sprintf("invalid module path %q", mod))
		return
	}
	if rest == "list" {
		h.list(w, r, fr, mod, modPath)
		return
	}
	for _, ext := range []string{".info", ".mod", ".zip"} {
		ev, ok := strings.CutSuffix(rest, ext)
		if !ok {
			continue
		}
		version, ok := validVersion(ev)
		if !ok {
			break
		}
		switch ext {
		case ".zip":
			h.zip(w, r, fr, mod, modPath, ev, version)
		default:
			h.immutable(w, r, fr, mod+"/@v/"+rest, ext)
		}
		return
	}
	feed.BadRequest(w, fmt.Sprintf("invalid module proxy request %q", rest))
}

func (h *Handler) immutable(w http.ResponseWriter, r *http.Request, fr *feed.Request, rel, ext string) {
	m, err := h.env.Cache.Metadata(r.Context(), feed.MetaRequest{Feed: fr.Feed, Key: rel, URL: fr.Feed.Upstream + "/" + rel, Immutable: true})
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleText)
		return
	}
	ct := "text/plain; charset=utf-8"
	if ext == ".info" {
		ct = "application/json"
	}
	feed.ServeMeta(w, r, m, ct, m.Body)
}

func (h *Handler) versions(ctx context.Context, fr *feed.Request, mod string) (*feed.Meta, []string, error) {
	m, err := h.env.Cache.Metadata(ctx, listRequest(fr.Feed, mod))
	if err != nil {
		return nil, nil, err
	}
	var vs []string
	for _, l := range strings.Split(string(m.Body), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			vs = append(vs, l)
		}
	}
	return m, vs, nil
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, fr *feed.Request, mod, modPath string) {
	ctx := r.Context()
	m, vs, err := h.versions(ctx, fr, mod)
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleText)
		return
	}
	body, err := h.env.Cache.Rendered(fr.Feed.Name, mod+"/@v/list", m, h.env.RenderKey(ctx, fr, ""), func() ([]byte, error) {
		blocked, err := h.env.BlockedVersions(ctx, fr, modPath, vs)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, v := range vs {
			if !blocked[v] {
				b.WriteString(v + "\n")
			}
		}
		return []byte(b.String()), nil
	})
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleText)
		return
	}
	feed.ServeMeta(w, r, m, "text/plain; charset=utf-8", body)
}

func (h *Handler) latest(w http.ResponseWriter, r *http.Request, fr *feed.Request, mod string) {
	modPath, ok := validPath(mod)
	if !ok {
		feed.BadRequest(w, fmt.Sprintf("invalid module path %q", mod))
		return
	}
	ctx := r.Context()
	m, err := h.env.Cache.Metadata(ctx, feed.MetaRequest{Feed: fr.Feed, Key: mod + "/@latest", URL: fr.Feed.Upstream + "/" + mod + "/@latest"})
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleText)
		return
	}
	body := m.Body
	var info struct{ Version string }
	if fr.Feed.FilterBlocked && json.Unmarshal(m.Body, &info) == nil && info.Version != "" {
		blocked, err := h.env.BlockedVersions(ctx, fr, modPath, []string{info.Version})
		if err != nil {
			feed.WriteError(w, r, h.env.Log, err, feed.StyleText)
			return
		}
		if blocked[info.Version] {
			// Answer with the highest listed version that is not blocked.
			if _, vs, err := h.versions(ctx, fr, mod); err == nil {
				bl, err := h.env.BlockedVersions(ctx, fr, modPath, vs)
				if err == nil {
					best := feed.HighestVersion("Go", vs, func(v string) bool { return !bl[v] && !strings.Contains(v, "-") })
					if ev, err := module.EscapeVersion(best); best != "" && err == nil {
						rel := mod + "/@v/" + ev + ".info"
						if im, err := h.env.Cache.Metadata(ctx, feed.MetaRequest{Feed: fr.Feed, Key: rel, URL: fr.Feed.Upstream + "/" + rel, Immutable: true}); err == nil {
							body = im.Body
						}
					}
				}
			}
		}
	}
	feed.ServeMeta(w, r, m, "application/json", body)
}

func (h *Handler) zip(w http.ResponseWriter, r *http.Request, fr *feed.Request, mod, modPath, escVersion, version string) {
	pkg, err := feed.PackageFor(feed.Go, modPath, version)
	if err != nil {
		feed.BadRequest(w, err.Error())
		return
	}
	rel := mod + "/@v/" + escVersion + ".zip"
	h.env.ServeArtifact(w, r, fr, pkg, feed.StyleText, feed.ArtifactRequest{
		Key:         rel,
		ContentType: "application/zip",
		URL:         func(context.Context) (string, error) { return fr.Feed.Upstream + "/" + rel, nil },
	})
}
