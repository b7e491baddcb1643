// Package maven implements the Maven 2 repository layout for a feed, as a
// read-only caching proxy: artifacts (jar, pom, ... and their
// classifiers), which pass the gate, maven-metadata.xml (filtered when the
// feed filters blocked versions, with checksums computed over what is
// served) and checksum files (.sha1, .md5, .sha256, .sha512) and
// signatures (.asc). Maven prints only the status line's reason phrase of
// a refusal, so refusals carry their short message there.
//
// Left out: deployment, SNAPSHOT-specific metadata handling beyond
// proxying, and repository indexes (.index/).
package maven

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/lazyre"
)

// Handler serves Maven feeds.
type Handler struct{ env *feed.Env }

// New returns the Maven protocol handler.
func New(env *feed.Env) *Handler { return &Handler{env: env} }

var (
	segmentRE = lazyre.New(`^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,199}$`)
	fileRE    = lazyre.New(`^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,299}$`)
)

var checksums = map[string]func() hash.Hash{".sha1": sha1.New, ".md5": md5.New, ".sha256": sha256.New, ".sha512": sha512.New}

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
	segs := strings.Split(p, "/")
	if len(segs) < 3 {
		feed.NotFound(w)
		return
	}
	for _, s := range segs[:len(segs)-1] {
		if !segmentRE.MatchString(s) || strings.Trim(s, ".") == "" {
			feed.BadRequest(w, fmt.Sprintf("invalid path segment %q", s))
			return
		}
	}
	file := segs[len(segs)-1]
	if !fileRE.MatchString(file) || strings.Contains(file, "..") {
		feed.BadRequest(w, fmt.Sprintf("invalid file name %q", file))
		return
	}
	rel := strings.Join(segs, "/")
	dir := strings.Join(segs[:len(segs)-1], "/")
	if strings.HasPrefix(file, "maven-metadata.xml") {
		ext := strings.TrimPrefix(file, "maven-metadata.xml")
		if ext == "" {
			h.metadata(w, r, fr, dir, "")
			return
		}
		if _, ok := checksums[ext]; ok {
			h.metadata(w, r, fr, dir, ext)
			return
		}
		feed.NotFound(w)
		return
	}
	for ext := range checksums {
		if strings.HasSuffix(file, ext) {
			h.sidecar(w, r, fr, rel)
			return
		}
	}
	if strings.HasSuffix(file, ".asc") {
		h.sidecar(w, r, fr, rel)
		return
	}
	if len(segs) < 4 {
		feed.NotFound(w)
		return
	}
	version, artifact := segs[len(segs)-2], segs[len(segs)-3]
	group := strings.Join(segs[:len(segs)-3], ".")
	if !strings.HasPrefix(file, artifact+"-"+version) {
		feed.BadRequest(w, fmt.Sprintf("file %q is not part of %s:%s:%s", file, group, artifact, version))
		return
	}
	pkg, err := feed.PackageFor(feed.Maven, group+":"+artifact, version)
	if err != nil {
		feed.BadRequest(w, err.Error())
		return
	}
	ct := "application/octet-stream"
	switch {
	case strings.HasSuffix(file, ".pom"):
		ct = "application/xml"
	case strings.HasSuffix(file, ".jar"):
		ct = "application/java-archive"
	}
	h.env.ServeArtifact(w, r, fr, pkg, feed.StyleReason, feed.ArtifactRequest{
		Key:         rel,
		ContentType: ct,
		URL:         func(context.Context) (string, error) { return fr.Feed.Upstream + "/" + rel, nil },
	})
}

// sidecar proxies checksum and signature files of artifacts; they never
// change once published.
func (h *Handler) sidecar(w http.ResponseWriter, r *http.Request, fr *feed.Request, rel string) {
	m, err := h.env.Cache.Metadata(r.Context(), feed.MetaRequest{Feed: fr.Feed, Key: rel, URL: fr.Feed.Upstream + "/" + rel, Immutable: true})
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleReason)
		return
	}
	feed.ServeMeta(w, r, m, "text/plain", m.Body)
}

// Metadata is the part of maven-metadata.xml the feed reads.
type Metadata struct {
	GroupID    string `xml:"groupId"`
	ArtifactID string `xml:"artifactId"`
	Versioning struct {
		Latest   string   `xml:"latest"`
		Release  string   `xml:"release"`
		Versions []string `xml:"versions>version"`
	} `xml:"versioning"`
}

func (h *Handler) metadata(w http.ResponseWriter, r *http.Request, fr *feed.Request, dir, checksum string) {
	ctx := r.Context()
	rel := dir + "/maven-metadata.xml"
	m, err := h.env.Cache.Metadata(ctx, feed.MetaRequest{Feed: fr.Feed, Key: rel, URL: fr.Feed.Upstream + "/" + rel})
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleReason)
		return
	}
	body, err := h.env.Cache.Rendered(fr.Feed.Name, rel, m, h.env.RenderKey(ctx, fr, ""), func() ([]byte, error) {
		return h.filter(ctx, fr, m.Body)
	})
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleReason)
		return
	}
	if checksum != "" {
		hh := checksums[checksum]()
		hh.Write(body)
		feed.ServeMeta(w, r, m, "text/plain", []byte(hex.EncodeToString(hh.Sum(nil))))
		return
	}
	feed.ServeMeta(w, r, m, "application/xml", body)
}

var versionElem = lazyre.New(`(?s)<version>\s*([^<]*?)\s*</version>\s*`)

// filter removes blocked versions from the <versions> list and moves
// <latest> and <release> off them, editing the document in place so that
// everything else stays as the upstream wrote it.
func (h *Handler) filter(ctx context.Context, fr *feed.Request, body []byte) ([]byte, error) {
	if !fr.Feed.FilterBlocked {
		return body, nil
	}
	var md Metadata
	if err := xml.Unmarshal(body, &md); err != nil {
		return nil, fmt.Errorf("maven-metadata.xml: %w", err)
	}
	if md.GroupID == "" || md.ArtifactID == "" || len(md.Versioning.Versions) == 0 {
		return body, nil
	}
	blocked, err := h.env.BlockedVersions(ctx, fr, md.GroupID+":"+md.ArtifactID, md.Versioning.Versions)
	if err != nil || len(blocked) == 0 {
		return body, err
	}
	s := string(body)
	start, end := strings.Index(s, "<versions>"), strings.Index(s, "</versions>")
	if start < 0 || end < start {
		return body, nil
	}
	list := versionElem.Regexp().ReplaceAllStringFunc(s[start:end], func(el string) string {
		v := strings.TrimSpace(versionElem.Regexp().FindStringSubmatch(el)[1])
		if blocked[v] {
			return ""
		}
		return el
	})
	s = s[:start] + list + s[end:]
	var remaining []string
	for _, v := range md.Versioning.Versions {
		if !blocked[v] {
			remaining = append(remaining, v)
		}
	}
	for _, tag := range []string{"latest", "release"} {
		cur := tag == "latest" && blocked[md.Versioning.Latest] || tag == "release" && blocked[md.Versioning.Release]
		if !cur {
			continue
		}
		best := feed.HighestVersion("Maven", remaining, func(v string) bool { return tag == "latest" || !strings.HasSuffix(v, "-SNAPSHOT") })
		re := regexp.MustCompile(`<` + tag + `>[^<]*</` + tag + `>`)
		s = re.ReplaceAllLiteralString(s, "<"+tag+">"+best+"</"+tag+">")
	}
	return []byte(s), nil
}
