// Package gomod implements the Go module proxy protocol (GOPROXY) for a
// feed, as a read-only caching proxy: $module/@v/list, $module/@v/$v.info,
// .mod and .zip, and $module/@latest, with case-encoded ("!"-escaped)
// module paths and versions. Zips pass the gate; a refusal is a 403 with a
// text/plain body, which go prints (up to 8 lines). A block is never a
// 404 or 410, which would make go fall through to the next GOPROXY entry.
//
// Left out: the checksum database proxy (/sumdb/...), which answers 404 so
// that go asks the checksum database directly (or not at all with
// GOSUMDB=off / GONOSUMDB).
package gomod

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/vulngate/vulngate/internal/feed"
)

// Handler serves Go module feeds.
type Handler struct{ env *feed.Env }

// New returns the Go module proxy handler.
func New(env *feed.Env) *Handler { return &Handler{env: env} }

var (
	escapedPathRE    = regexp.MustCompile(`^[a-z0-9.\-_~!]+(?:/[a-z0-9.\-_~!+]+)*$`)
	escapedVersionRE = regexp.MustCompile(`^v[a-z0-9.\-+!]{1,200}$`)
)

// Unescape decodes a case-encoded module path or version ("!x" is "X");
// ok is false for malformed input (upper case, "!" not before a lower
// case letter).
func Unescape(s string) (string, bool) {
	var b strings.Builder
	bang := false
	for _, r := range s {
		switch {
		case bang:
			if r < 'a' || r > 'z' {
				return "", false
			}
			b.WriteRune(r - 'a' + 'A')
			bang = false
		case r == '!':
			bang = true
		case r >= 'A' && r <= 'Z' || r >= 0x80:
			// Module paths and versions are ASCII.
			return "", false
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), !bang
}

// Escape case-encodes a module path or version.
func Escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			b.WriteRune(r - 'A' + 'a')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func validPath(escaped string) (string, bool) {
	if len(escaped) > 500 || !escapedPathRE.MatchString(escaped) {
		return "", false
	}
	for seg := range strings.SplitSeq(escaped, "/") {
		if seg == "." || seg == ".." || strings.HasPrefix(seg, ".") || strings.HasSuffix(seg, ".") {
			return "", false
		}
	}
	if !strings.Contains(strings.Split(escaped, "/")[0], ".") && escaped != "stdlib" {
		// The first element of a module path is a domain name.
		return "", false
	}
	return Unescape(escaped)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fr := feed.RequestFrom(r.Context())
	if fr == nil {
		feed.NotFound(w)
		return
	}
	p := fr.Path
	if strings.Contains(p, "%") {
		feed.BadRequest(w, "invalid module path: percent-escapes are not used by the module proxy protocol")
		return
	}
	if strings.HasPrefix(p, "sumdb/") {
		feed.NotFound(w)
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
	module, ok := validPath(mod)
	if !ok {
		feed.BadRequest(w, fmt.Sprintf("invalid module path %q", mod))
		return
	}
	if rest == "list" {
		h.list(w, r, fr, mod, module)
		return
	}
	for _, ext := range []string{".info", ".mod", ".zip"} {
		ev, ok := strings.CutSuffix(rest, ext)
		if !ok {
			continue
		}
		if !escapedVersionRE.MatchString(ev) {
			break
		}
		version, ok := Unescape(ev)
		if !ok {
			break
		}
		switch ext {
		case ".zip":
			h.zip(w, r, fr, mod, module, ev, version)
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
	m, err := h.env.Cache.Metadata(ctx, feed.MetaRequest{Feed: fr.Feed, Key: mod + "/@v/list", URL: fr.Feed.Upstream + "/" + mod + "/@v/list"})
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

func (h *Handler) list(w http.ResponseWriter, r *http.Request, fr *feed.Request, mod, module string) {
	ctx := r.Context()
	m, vs, err := h.versions(ctx, fr, mod)
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleText)
		return
	}
	body, err := h.env.Cache.Rendered(fr.Feed.Name, mod+"/@v/list", m, h.env.RenderKey(ctx, fr, ""), func() ([]byte, error) {
		blocked, err := h.env.BlockedVersions(ctx, fr, module, vs)
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
	module, ok := validPath(mod)
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
		blocked, err := h.env.BlockedVersions(ctx, fr, module, []string{info.Version})
		if err != nil {
			feed.WriteError(w, r, h.env.Log, err, feed.StyleText)
			return
		}
		if blocked[info.Version] {
			// Answer with the highest listed version that is not blocked.
			if _, vs, err := h.versions(ctx, fr, mod); err == nil {
				bl, err := h.env.BlockedVersions(ctx, fr, module, vs)
				if err == nil {
					best := feed.HighestVersion("Go", vs, func(v string) bool { return !bl[v] && !strings.Contains(v, "-") })
					if best != "" {
						rel := mod + "/@v/" + Escape(best) + ".info"
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

func (h *Handler) zip(w http.ResponseWriter, r *http.Request, fr *feed.Request, mod, module, escVersion, version string) {
	pkg, err := feed.PackageFor(feed.Go, module, version)
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
