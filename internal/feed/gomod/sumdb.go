package gomod

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/lazyre"
)

// SumDB is a checksum database the module proxy serves for the go
// command (the "Proxying a checksum database" part of the module proxy
// protocol): a client whose GOSUMDB names Name asks
// $GOPROXY/sumdb/Name/supported and then fetches the database's
// /latest, /lookup/... and /tile/... through the proxy. The go command
// still verifies every answer against the database's public key, so the
// proxy cannot forge them.
type SumDB struct {
	// Name is the database's name as GOSUMDB gives it, e.g.
	// "sum.golang.org".
	Name string
	// URL is where the database is served, e.g. "https://sum.golang.org".
	URL string
}

// DefaultSumDB is the go command's default checksum database.
var DefaultSumDB = SumDB{Name: "sum.golang.org", URL: "https://sum.golang.org"}

var sumdbNameRE = lazyre.New(`^[a-z0-9][a-z0-9.-]{0,200}$`)

// ParseSumDB checks a checksum database's URL (http or https, no query)
// and name ("" takes the URL's host name).
func ParseSumDB(rawURL, name string) (SumDB, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return SumDB{}, fmt.Errorf("checksum database URL %q: want an http:// or https:// URL with a host and no query or credentials", rawURL)
	}
	if name = strings.TrimSpace(name); name == "" {
		name = u.Hostname()
	}
	if !sumdbNameRE.MatchString(name) {
		return SumDB{}, fmt.Errorf("checksum database name %q: want a host-like name such as sum.golang.org", name)
	}
	return SumDB{Name: name, URL: strings.TrimRight(u.String(), "/")}, nil
}

// tileRE matches the tile paths of a transparency log: tile/H/L/NNN with
// "x" prefixed groups, L "data" for record data, ".p/W" for partial ones.
var tileRE = lazyre.New(`^tile/[0-9]{1,2}/(?:data|[0-9]{1,2})/(?:x[0-9]{3}/){0,8}[0-9]{3}(?:\.p/[0-9]{1,3})?$`)

// sumdbTTL bounds how long the database's moving parts (its latest
// signed tree, partial tiles, lookups) are reused.
const sumdbTTL = time.Minute

// sumdb serves /sumdb/<name>/... for the configured checksum database;
// other names are 404, so that the go command asks them directly.
func (h *Handler) sumdb(w http.ResponseWriter, r *http.Request, fr *feed.Request, rest string) {
	db := h.opts.SumDB
	name, sub, _ := strings.Cut(rest, "/")
	if db.URL == "" || name != db.Name {
		feed.NotFound(w)
		return
	}
	req := feed.MetaRequest{Feed: fr.Feed, Key: "sumdb/" + name + "/" + sub, URL: db.URL + "/" + sub, TTL: sumdbTTL}
	ct := "text/plain; charset=utf-8"
	switch {
	case sub == "supported":
		w.WriteHeader(http.StatusOK)
		return
	case sub == "latest":
	case strings.HasPrefix(sub, "lookup/"):
		esc, ver, ok := strings.Cut(strings.TrimPrefix(sub, "lookup/"), "@")
		if _, okp := validPath(esc); !ok || !okp {
			feed.BadRequest(w, fmt.Sprintf("invalid checksum database lookup %q", sub))
			return
		}
		if _, ok := validVersion(ver); !ok {
			feed.BadRequest(w, fmt.Sprintf("invalid checksum database lookup %q", sub))
			return
		}
	case tileRE.MatchString(sub):
		ct = "application/octet-stream"
		// Full tiles never change; partial ones grow.
		req.Immutable = !strings.Contains(sub, ".p/")
	default:
		feed.NotFound(w)
		return
	}
	m, err := h.env.Cache.Metadata(r.Context(), req)
	if err != nil {
		feed.WriteError(w, r, h.env.Log, err, feed.StyleText)
		return
	}
	feed.ServeMeta(w, r, m, ct, m.Body)
}
