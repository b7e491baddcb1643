// Package pypi implements the Python simple repository API for a feed, as
// a read-only caching proxy: project pages in PEP 503 HTML and PEP 691
// JSON (chosen by content negotiation, whatever format the upstream
// answers in), with file URLs rewritten to the feed and their hashes kept
// (#sha256=... and "hashes"), PEP 658 metadata files, and the files
// themselves, which pass the gate. pip prints only the reason phrase of a
// refusal, so refusals carry their short message there.
//
// The feed's upstream URL is the upstream's simple index (the URL pip's
// --index-url would take). Left out: the root project list, uploads and
// the JSON API outside the simple index.
package pypi

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/lazyre"
	"github.com/vulngate/vulngate/internal/purl"
)

// Media types of the simple API.
const (
	JSONType = "application/vnd.pypi.simple.v1+json"
	HTMLType = "application/vnd.pypi.simple.v1+html"
)

// Handler serves PyPI feeds.
type Handler struct{ env *feed.Env }

// New returns the PyPI protocol handler.
func New(env *feed.Env) *Handler { return &Handler{env: env} }

var (
	projectRE  = lazyre.New(`^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,198}[A-Za-z0-9])?$`)
	filenameRE = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9._+!-]{0,250}$`)
)

// Normalize is the PEP 503 normalized project name.
func Normalize(name string) string { return purl.NormalizeName("PyPI", name) }

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
	parts := strings.Split(strings.TrimSuffix(p, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "simple":
		h.project(w, r, fr, parts[1], strings.HasSuffix(p, "/"))
	case len(parts) == 3 && parts[0] == "files":
		h.file(w, r, fr, parts[1], parts[2])
	default:
		feed.NotFound(w)
	}
}

// File is one distribution file of a project.
type File struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython string            `json:"requires-python,omitempty"`
	// Yanked is false or the reason (true when no reason is given).
	Yanked any `json:"yanked,omitempty"`
	// CoreMetadata is false, true, or hashes of the PEP 658 metadata file.
	CoreMetadata any `json:"core-metadata,omitempty"`
}

// Project is a parsed project page.
type Project struct {
	Name  string
	Files []File
}

func (h *Handler) fetch(ctx context.Context, fr *feed.Request, project string) (*feed.Meta, *Project, error) {
	m, err := h.env.Cache.Metadata(ctx, projectRequest(fr.Feed, project))
	if err != nil {
		return nil, nil, err
	}
	proj, err := parseProject(fr.Feed, project, m)
	if err != nil {
		return nil, nil, err
	}
	return m, proj, nil
}

// projectRequest asks for a (normalized) project's page.
func projectRequest(f feed.Feed, project string) feed.MetaRequest {
	return feed.MetaRequest{
		Feed: f, Key: "simple/" + project,
		URL:    f.Upstream + "/" + project + "/",
		Accept: JSONType + ", " + HTMLType + "; q=0.1, text/html; q=0.01",
	}
}

// parseProject reads a cached project page in the format it came in.
func parseProject(f feed.Feed, project string, m *feed.Meta) (*Project, error) {
	pageURL := m.URL
	if pageURL == "" {
		pageURL = f.Upstream + "/" + project + "/"
	}
	var proj *Project
	var err error
	if strings.Contains(m.ContentType, "json") {
		proj, err = ParseJSON(m.Body, pageURL)
	} else {
		proj, err = ParseHTML(m.Body, pageURL)
	}
	if err != nil {
		return nil, fmt.Errorf("pypi project page of %s: %w", project, err)
	}
	proj.Name = project
	return proj, nil
}

func (h *Handler) project(w http.ResponseWriter, r *http.Request, fr *feed.Request, name string, slash bool) {
	if !projectRE.MatchString(name) {
		feed.BadRequest(w, fmt.Sprintf("invalid project name %q", name))
		return
	}
	if n := Normalize(name); n != name || !slash {
		// PEP 503: redirect to the normalized URL: absolute from the
		// configured public URL, else relative to the request (never
		// from its Host header), so that caches keep a safe answer.
		loc := fr.Base + "/simple/" + n + "/"
		if !fr.Configured {
			loc = n + "/"
			if slash {
				loc = "../" + n + "/"
			}
		}
		w.Header().Set("Location", loc)
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	ctx := r.Context()
	asJSON := wantsJSON(r)
	variant, ct := "html", HTMLType
	if asJSON {
		variant, ct = "json", JSONType
	}
	m, proj, err := h.fetch(ctx, fr, name)
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleReason)
		return
	}
	body, err := h.env.Cache.Rendered(fr.Feed.Name, "simple/"+name, m, h.env.RenderKey(ctx, fr, variant), func() ([]byte, error) {
		files, err := h.visible(ctx, fr, proj)
		if err != nil {
			return nil, err
		}
		if asJSON {
			return RenderJSON(name, files), nil
		}
		return RenderHTML(name, files), nil
	})
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleReason)
		return
	}
	w.Header().Set("Vary", "Accept")
	feed.ServeMeta(w, r, m, ct, body)
}

// visible rewrites file URLs to the feed and, when the feed filters,
// marks the files of blocked versions yanked with vulngate's reason (PEP
// 592): pip then skips them unless a requirement pins that exact version,
// and when one does, it prints the reason before the download is refused.
func (h *Handler) visible(ctx context.Context, fr *feed.Request, proj *Project) ([]File, error) {
	var versions []string
	seen := map[string]bool{}
	for _, f := range proj.Files {
		if v, ok := VersionOf(proj.Name, f.Filename); ok && !seen[v] {
			seen[v] = true
			versions = append(versions, v)
		}
	}
	hidden, err := h.env.HiddenVersions(ctx, fr, proj.Name, versions)
	if err != nil {
		return nil, err
	}
	out := make([]File, 0, len(proj.Files))
	for _, f := range proj.Files {
		if v, ok := VersionOf(proj.Name, f.Filename); ok && hidden[v] != nil {
			reason := feed.ShortMessage(hidden[v])
			if old, ok := f.Yanked.(string); ok && old != "" {
				reason += " (also yanked upstream: " + old + ")"
			}
			f.Yanked = reason
		}
		f.URL = fr.Base + "/files/" + proj.Name + "/" + url.PathEscape(f.Filename)
		out = append(out, f)
	}
	return out, nil
}

func (h *Handler) file(w http.ResponseWriter, r *http.Request, fr *feed.Request, project, filename string) {
	if !projectRE.MatchString(project) || Normalize(project) != project {
		feed.BadRequest(w, fmt.Sprintf("invalid project name %q", project))
		return
	}
	if !filenameRE.MatchString(filename) || strings.Contains(filename, "..") {
		feed.BadRequest(w, fmt.Sprintf("invalid file name %q", filename))
		return
	}
	metadata := strings.HasSuffix(filename, ".metadata")
	dist := strings.TrimSuffix(filename, ".metadata")
	version, ok := VersionOf(project, dist)
	if !ok {
		feed.BadRequest(w, fmt.Sprintf("file name %q is not a distribution of %s", filename, project))
		return
	}
	upstreamURL := func(ctx context.Context) (string, error) {
		_, proj, err := h.fetch(ctx, fr, project)
		if err != nil {
			return "", err
		}
		for _, f := range proj.Files {
			if f.Filename == dist {
				u := f.URL
				if i := strings.IndexByte(u, '#'); i >= 0 {
					u = u[:i]
				}
				if metadata {
					u += ".metadata"
				}
				return u, nil
			}
		}
		return "", &feed.UpstreamError{URL: fr.Feed.Upstream + "/" + project + "/", Status: http.StatusNotFound}
	}
	areq := feed.ArtifactRequest{Key: "files/" + project + "/" + filename, URL: upstreamURL, ContentType: "application/octet-stream"}
	if metadata {
		// Core metadata is what resolvers read before choosing; it is not
		// the package and is not gated.
		h.env.ServeUngated(w, r, fr, feed.StyleReason, areq)
		return
	}
	pkg, err := feed.PackageFor(feed.PyPI, project, version)
	if err != nil {
		feed.BadRequest(w, err.Error())
		return
	}
	h.env.ServeArtifact(w, r, fr, pkg, feed.StyleReason, areq)
}

// VersionOf extracts the version from a distribution file name of project
// (wheels, sdists, eggs); ok is false when the name does not belong to it.
func VersionOf(project, filename string) (string, bool) {
	norm := Normalize(project)
	if base, ok := strings.CutSuffix(filename, ".whl"); ok {
		parts := strings.Split(base, "-")
		if len(parts) >= 5 && Normalize(parts[0]) == norm {
			return parts[1], true
		}
		return "", false
	}
	if base, ok := strings.CutSuffix(filename, ".egg"); ok {
		parts := strings.Split(base, "-")
		if len(parts) >= 2 && Normalize(parts[0]) == norm {
			return parts[1], true
		}
		return "", false
	}
	base := ""
	for _, ext := range []string{".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar"} {
		if b, ok := strings.CutSuffix(filename, ext); ok {
			base = b
			break
		}
	}
	if base == "" {
		return "", false
	}
	// sdist names may contain "-" in the project part: try each split.
	for i := len(base) - 1; i > 0; i-- {
		if base[i] == '-' && Normalize(base[:i]) == norm && i+1 < len(base) {
			return base[i+1:], true
		}
	}
	return "", false
}

// wantsJSON negotiates the response format from Accept (and PEP 691's
// ?format=): JSON when it has the highest quality, HTML otherwise.
func wantsJSON(r *http.Request) bool {
	if f := r.URL.Query().Get("format"); f != "" {
		return f == JSONType
	}
	best, bestQ := "", -1.0
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		q := 1.0
		for _, p := range fields[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		switch mt {
		case JSONType, HTMLType, "text/html", "*/*":
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = mt, q
		}
	}
	return best == JSONType && bestQ > 0
}

// ParseJSON reads a PEP 691 project page; relative URLs resolve against
// pageURL.
func ParseJSON(body []byte, pageURL string) (*Project, error) {
	var doc struct {
		Name  string `json:"name"`
		Files []struct {
			File
			DistInfo any `json:"dist-info-metadata"`
		} `json:"files"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	p := &Project{Name: doc.Name}
	for _, f := range doc.Files {
		ff := f.File
		if ff.CoreMetadata == nil {
			ff.CoreMetadata = f.DistInfo
		}
		u, err := resolve(pageURL, ff.URL)
		if err != nil {
			continue
		}
		// A fragment is never fetched; PEP 691 carries hashes separately,
		// but keep one from the URL when the hashes map lacks it.
		if base, frag, ok := strings.Cut(u, "#"); ok {
			u = base
			if alg, hex, ok := strings.Cut(frag, "="); ok {
				if ff.Hashes == nil {
					ff.Hashes = map[string]string{}
				}
				if _, have := ff.Hashes[alg]; !have {
					ff.Hashes[alg] = hex
				}
			}
		}
		ff.URL = u
		p.Files = append(p.Files, ff)
	}
	return p, nil
}

var anchorRE = lazyre.New(`(?is)<a\s([^>]*)>(.*?)</a\s*>`)

// ParseHTML reads a PEP 503 project page; relative URLs resolve against
// pageURL, hashes come from the URL fragment.
func ParseHTML(body []byte, pageURL string) (*Project, error) {
	p := &Project{}
	for _, m := range anchorRE.Regexp().FindAllSubmatch(body, -1) {
		attrs := parseAttrs(string(m[1]))
		href, ok := attrs["href"]
		if !ok {
			continue
		}
		f := File{Filename: strings.TrimSpace(html.UnescapeString(string(m[2]))), Hashes: map[string]string{}}
		u, err := resolve(pageURL, href)
		if err != nil {
			continue
		}
		if base, frag, ok := strings.Cut(u, "#"); ok {
			u = base
			if alg, hex, ok := strings.Cut(frag, "="); ok {
				f.Hashes[alg] = hex
			}
		}
		f.URL = u
		if f.Filename == "" {
			if pu, err := url.Parse(u); err == nil {
				f.Filename = pu.Path[strings.LastIndexByte(pu.Path, '/')+1:]
			}
		}
		f.RequiresPython = attrs["data-requires-python"]
		if y, ok := attrs["data-yanked"]; ok {
			if y == "" {
				f.Yanked = true
			} else {
				f.Yanked = y
			}
		}
		md, ok := attrs["data-core-metadata"]
		if !ok {
			md, ok = attrs["data-dist-info-metadata"]
		}
		if ok {
			if alg, hex, found := strings.Cut(md, "="); found {
				f.CoreMetadata = map[string]string{alg: hex}
			} else if md != "false" {
				f.CoreMetadata = true
			}
		}
		p.Files = append(p.Files, f)
	}
	return p, nil
}

// parseAttrs reads HTML attributes (quoted, unquoted or bare), lowercasing
// names and unescaping values.
func parseAttrs(s string) map[string]string {
	out := map[string]string{}
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '/') {
			i++
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && s[i] != '/' {
			i++
		}
		name := strings.ToLower(s[start:i])
		if name == "" {
			i++
			continue
		}
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			out[name] = ""
			continue
		}
		i++
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
		var val string
		if i < len(s) && (s[i] == '"' || s[i] == '\'') {
			q := s[i]
			i++
			vs := i
			for i < len(s) && s[i] != q {
				i++
			}
			val = s[vs:i]
			i++
		} else {
			vs := i
			for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' {
				i++
			}
			val = s[vs:i]
		}
		out[name] = html.UnescapeString(val)
	}
	return out
}

func resolve(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return "", err
	}
	u := b.ResolveReference(r)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("unsupported URL %q", ref)
	}
	return u.String(), nil
}

// RenderJSON writes a PEP 691 project page.
func RenderJSON(name string, files []File) []byte {
	type out struct {
		Meta  map[string]string `json:"meta"`
		Name  string            `json:"name"`
		Files []File            `json:"files"`
	}
	if files == nil {
		files = []File{}
	}
	for i := range files {
		if files[i].Hashes == nil {
			files[i].Hashes = map[string]string{}
		}
	}
	b, _ := json.Marshal(out{Meta: map[string]string{"api-version": "1.0"}, Name: name, Files: files})
	return b
}

// RenderHTML writes a PEP 503 project page with hashes in URL fragments.
func RenderHTML(name string, files []File) []byte {
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"pypi:repository-version\" content=\"1.0\">\n<title>Links for %s</title>\n</head>\n<body>\n<h1>Links for %s</h1>\n", esc(name), esc(name))
	for _, f := range files {
		href := f.URL
		if h, ok := preferredHash(f.Hashes); ok {
			href += "#" + h
		}
		fmt.Fprintf(&b, `<a href="%s"`, esc(href))
		if f.RequiresPython != "" {
			fmt.Fprintf(&b, ` data-requires-python="%s"`, esc(f.RequiresPython))
		}
		switch y := f.Yanked.(type) {
		case bool:
			if y {
				b.WriteString(` data-yanked=""`)
			}
		case string:
			fmt.Fprintf(&b, ` data-yanked="%s"`, esc(y))
		}
		switch md := f.CoreMetadata.(type) {
		case bool:
			if md {
				b.WriteString(` data-core-metadata="true" data-dist-info-metadata="true"`)
			}
		case map[string]any, map[string]string:
			if h, ok := preferredHash(toStringMap(md)); ok {
				fmt.Fprintf(&b, ` data-core-metadata="%s" data-dist-info-metadata="%s"`, esc(h), esc(h))
			}
		}
		fmt.Fprintf(&b, ">%s</a><br/>\n", esc(f.Filename))
	}
	b.WriteString("</body>\n</html>\n")
	return []byte(b.String())
}

func toStringMap(v any) map[string]string {
	switch m := v.(type) {
	case map[string]string:
		return m
	case map[string]any:
		out := map[string]string{}
		for k, x := range m {
			if s, ok := x.(string); ok {
				out[k] = s
			}
		}
		return out
	}
	return nil
}

// preferredHash picks sha256 when present, else the first algorithm by
// name, as "alg=hex".
func preferredHash(h map[string]string) (string, bool) {
	if v, ok := h["sha256"]; ok {
		return "sha256=" + v, true
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "", false
	}
	return keys[0] + "=" + h[keys[0]], true
}
