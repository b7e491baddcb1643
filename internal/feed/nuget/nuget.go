// Package nuget implements the NuGet v3 protocol for a feed, as a
// read-only caching proxy of what restore needs: the service index (the
// feed's own, pointing at itself), the flat container
// (v3-flatcontainer/{id}/index.json, .nuspec, and .nupkg, which passes the
// gate) and registrations (proxied with URLs rewritten to the feed).
// Refusals carry the short message in the X-NuGet-Warning header, which
// NuGet prints, and in the reason phrase; so do upstream failures and
// cautions (on the served package). IDs and versions are taken in any
// letter case and used lower-cased, as the flat container spells them.
//
// The feed's upstream URL is the upstream's service index
// (".../v3/index.json"). Left out: search, autocomplete, push, symbol
// packages, and filtering blocked versions out of registrations (the flat
// container list, which restore reads, is filtered).
package nuget

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/lazyre"
)

// Handler serves NuGet feeds.
type Handler struct{ env *feed.Env }

// New returns the NuGet protocol handler.
func New(env *feed.Env) *Handler { return &Handler{env: env} }

var (
	idRE      = lazyre.New(`^[a-z0-9_][a-z0-9_.-]{0,99}$`)
	versionRE = lazyre.New(`^[0-9a-z][0-9a-z.+-]{0,63}$`)
	regRE     = lazyre.New(`^[a-z0-9_][a-z0-9_./-]{0,300}\.json$`)
)

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
	switch {
	case p == "v3/index.json" || p == "index.json":
		h.serviceIndex(w, r, fr)
	case strings.HasPrefix(p, "v3-flatcontainer/"):
		h.flat(w, r, fr, strings.TrimPrefix(p, "v3-flatcontainer/"))
	case strings.HasPrefix(p, "v3/registration/"):
		h.registration(w, r, fr, strings.TrimPrefix(p, "v3/registration/"))
	default:
		feed.NotFound(w)
	}
}

type resources struct {
	flat, registration string
}

// upstreamResources reads the upstream service index for the flat
// container and registration base URLs (with trailing slashes).
func (h *Handler) upstreamResources(ctx context.Context, f feed.Feed) (resources, error) {
	m, err := h.env.Cache.Metadata(ctx, feed.MetaRequest{Feed: f, Key: "service-index", URL: f.Upstream, Accept: "application/json"})
	if err != nil {
		return resources{}, err
	}
	var idx struct {
		Resources []struct {
			ID   string `json:"@id"`
			Type string `json:"@type"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(m.Body, &idx); err != nil {
		return resources{}, fmt.Errorf("nuget service index of %s: %w", f.Upstream, err)
	}
	var res resources
	for _, r := range idx.Resources {
		id := strings.TrimRight(r.ID, "/") + "/"
		switch {
		case r.Type == "PackageBaseAddress/3.0.0":
			res.flat = id
		case strings.HasPrefix(r.Type, "RegistrationsBaseUrl") && (res.registration == "" || r.Type == "RegistrationsBaseUrl/3.6.0"):
			res.registration = id
		}
	}
	if res.flat == "" {
		return res, fmt.Errorf("nuget service index of %s has no PackageBaseAddress/3.0.0", f.Upstream)
	}
	return res, nil
}

func (h *Handler) serviceIndex(w http.ResponseWriter, r *http.Request, fr *feed.Request) {
	type res struct {
		ID      string `json:"@id"`
		Type    string `json:"@type"`
		Comment string `json:"comment,omitempty"`
	}
	flat := fr.Base + "/v3-flatcontainer/"
	reg := fr.Base + "/v3/registration/"
	doc := struct {
		Version   string `json:"version"`
		Resources []res  `json:"resources"`
	}{Version: "3.0.0", Resources: []res{{ID: flat, Type: "PackageBaseAddress/3.0.0", Comment: "vulngate feed " + fr.Feed.Name}}}
	for _, t := range []string{"RegistrationsBaseUrl", "RegistrationsBaseUrl/3.0.0-rc", "RegistrationsBaseUrl/3.0.0-beta", "RegistrationsBaseUrl/3.4.0", "RegistrationsBaseUrl/3.6.0", "RegistrationsBaseUrl/Versioned"} {
		doc.Resources = append(doc.Resources, res{ID: reg, Type: t})
	}
	b, _ := json.Marshal(doc)
	feed.ServeMeta(w, r, nil, "application/json", b)
}

func (h *Handler) flat(w http.ResponseWriter, r *http.Request, fr *feed.Request, rest string) {
	ctx := r.Context()
	// IDs and versions are case-insensitive; the flat container spells
	// them in lower case, as clients do (some send the ID as written).
	parts := strings.Split(strings.ToLower(rest), "/")
	id := parts[0]
	if !idRE.MatchString(id) || strings.Contains(id, "..") {
		feed.BadRequest(w, fmt.Sprintf("invalid package ID %q (the flat container takes lower case IDs)", id))
		return
	}
	res, err := h.upstreamResources(ctx, fr.Feed)
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleNuGet)
		return
	}
	switch {
	case len(parts) == 2 && parts[1] == "index.json":
		h.versions(w, r, fr, res, id)
	case len(parts) == 3:
		version, file := parts[1], parts[2]
		if !versionRE.MatchString(version) || strings.Contains(version, "..") {
			feed.BadRequest(w, fmt.Sprintf("invalid version %q", version))
			return
		}
		rel := id + "/" + version + "/" + file
		switch file {
		case id + "." + version + ".nupkg":
			pkg, err := feed.PackageFor(feed.NuGet, id, version)
			if err != nil {
				feed.BadRequest(w, err.Error())
				return
			}
			h.env.ServeArtifact(w, r, fr, pkg, feed.StyleNuGet, feed.ArtifactRequest{
				Key: "flat/" + rel, ContentType: "application/octet-stream",
				URL: func(context.Context) (string, error) { return res.flat + rel, nil },
			})
		case id + ".nuspec":
			m, err := h.env.Cache.Metadata(ctx, feed.MetaRequest{Feed: fr.Feed, Key: "flat/" + rel, URL: res.flat + rel, Immutable: true})
			if err != nil {
				feed.WriteError(w, r, h.env.Log, err, feed.StyleNuGet)
				return
			}
			feed.ServeMeta(w, r, m, "application/xml", m.Body)
		default:
			feed.BadRequest(w, fmt.Sprintf("invalid file name %q for %s %s", file, id, version))
		}
	default:
		feed.NotFound(w)
	}
}

func (h *Handler) versions(w http.ResponseWriter, r *http.Request, fr *feed.Request, res resources, id string) {
	ctx := r.Context()
	rel := id + "/index.json"
	m, err := h.env.Cache.Metadata(ctx, indexRequest(fr.Feed, res, id))
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleNuGet)
		return
	}
	body, err := h.env.Cache.Rendered(fr.Feed.Name, "flat/"+rel, m, h.env.RenderKey(ctx, fr, ""), func() ([]byte, error) {
		var doc struct {
			Versions []string `json:"versions"`
		}
		if err := json.Unmarshal(m.Body, &doc); err != nil {
			return nil, fmt.Errorf("nuget versions of %s: %w", id, err)
		}
		blocked, err := h.env.BlockedVersions(ctx, fr, id, doc.Versions)
		if err != nil || len(blocked) == 0 {
			return m.Body, err
		}
		kept := []string{}
		for _, v := range doc.Versions {
			if !blocked[v] {
				kept = append(kept, v)
			}
		}
		return json.Marshal(map[string][]string{"versions": kept})
	})
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleNuGet)
		return
	}
	feed.ServeMeta(w, r, m, "application/json", body)
}

// registration proxies registration documents, pointing their links
// (pages, leaves, package content) at the feed.
func (h *Handler) registration(w http.ResponseWriter, r *http.Request, fr *feed.Request, rest string) {
	if !regRE.MatchString(rest) || strings.Contains(rest, "..") {
		feed.BadRequest(w, fmt.Sprintf("invalid registration path %q", rest))
		return
	}
	ctx := r.Context()
	res, err := h.upstreamResources(ctx, fr.Feed)
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleNuGet)
		return
	}
	if res.registration == "" {
		feed.NotFound(w)
		return
	}
	m, err := h.env.Cache.Metadata(ctx, feed.MetaRequest{Feed: fr.Feed, Key: "registration/" + rest, URL: res.registration + rest, Accept: "application/json"})
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleNuGet)
		return
	}
	body, err := h.env.Cache.Rendered(fr.Feed.Name, "registration/"+rest, m, h.env.RenderKey(ctx, fr, ""), func() ([]byte, error) {
		b := bytes.ReplaceAll(m.Body, []byte(res.registration), []byte(fr.Base+"/v3/registration/"))
		return bytes.ReplaceAll(b, []byte(res.flat), []byte(fr.Base+"/v3-flatcontainer/")), nil
	})
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleNuGet)
		return
	}
	feed.ServeMeta(w, r, m, "application/json", body)
}
