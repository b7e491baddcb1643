package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/feed/proxy"
	"github.com/vulngate/vulngate/internal/store"
)

// The feed pages: Administration › Feeds lists feeds and creates them
// (admins); a feed's page shows its settings, how to point clients at it,
// its recent gate decisions and tracked packages, and lets admins change
// or delete it. Reading needs any role, as in the API.
func (s *Server) feedPages() []route {
	return []route{
		s.plain("GET /admin/feeds", auth.Viewer, s.uiFeeds),
		s.plain("POST /admin/feeds", auth.Admin, s.uiCreateFeed),
		s.plain("GET /admin/feeds/{name}", auth.Viewer, s.uiFeed),
		s.plain("POST /admin/feeds/{name}", auth.Admin, s.uiUpdateFeed),
		s.plain("POST /admin/feeds/{name}/delete", auth.Admin, s.uiDeleteFeed),
	}
}

var (
	feedPolicies = []string{"inherit", "allow", "warn", "block"}
	feedEffects  = []string{"allow", "warn", "block", feed.EffectUnapproved, feed.EffectHidden}
)

// feedForm is what the create and edit forms show.
type feedForm struct {
	Name, Type, Upstream, Unassessed, TTL, Description string
	Sources                                            map[string]bool
	Filter, Audit                                      bool
	Assessors                                          map[string]bool
	RequireApproval                                    bool
	Approvers                                          map[string]bool
}

func formOf(f store.Feed, assessors []string, approvers ...string) feedForm {
	ff := feedForm{Name: f.Name, Type: f.Type, Upstream: f.Upstream, Unassessed: f.Unassessed, TTL: f.MetadataTTL.String(),
		Description: f.Description, Filter: f.FilterBlocked, Audit: f.AuditRequired, Sources: map[string]bool{}, Assessors: map[string]bool{},
		RequireApproval: f.RequireApproval, Approvers: map[string]bool{}}
	for _, a := range approvers {
		ff.Approvers[a] = true
	}
	if ff.Unassessed == "" {
		ff.Unassessed = "inherit"
	}
	for _, src := range f.Sources {
		ff.Sources[src] = true
	}
	for _, a := range assessors {
		ff.Assessors[a] = true
	}
	return ff
}

// readFeedForm turns the posted form into feed input; name and type only
// when creating.
func readFeedForm(r *http.Request, create bool) (feedInput, feedForm, error) {
	r.ParseForm()
	pf := r.PostForm
	ff := feedForm{Name: strings.TrimSpace(pf.Get("name")), Type: pf.Get("type"), Upstream: strings.TrimSpace(pf.Get("upstream")),
		Unassessed: pf.Get("unassessed"), TTL: strings.TrimSpace(pf.Get("metadata_ttl")), Description: pf.Get("description"),
		Filter: pf.Get("filter_blocked") != "", Audit: pf.Get("audit_required") != "", Sources: map[string]bool{}, Assessors: map[string]bool{},
		RequireApproval: pf.Get("require_approval") != "", Approvers: map[string]bool{}}
	sources := pf["sources"]
	for _, src := range sources {
		ff.Sources[src] = true
	}
	assessors := pf["assessors"]
	for _, a := range assessors {
		ff.Assessors[a] = true
	}
	approvers := pf["approvers"]
	for _, a := range approvers {
		ff.Approvers[a] = true
	}
	in := feedInput{Upstream: &ff.Upstream, Sources: &sources, Unassessed: &ff.Unassessed, Filter: &ff.Filter, Audit: &ff.Audit,
		Description: &ff.Description, Assessors: &assessors, RequireApproval: &ff.RequireApproval, Approvers: &approvers}
	if assessors == nil {
		empty := []string{}
		in.Assessors = &empty
	}
	if approvers == nil {
		empty := []string{}
		in.Approvers = &empty
	}
	if create {
		in.Name, in.Type = &ff.Name, &ff.Type
	}
	if ff.TTL != "" {
		d, err := time.ParseDuration(ff.TTL)
		if err != nil {
			return in, ff, store.Invalid(fmt.Errorf("metadata TTL %q: want a duration such as 5m, 1h or 0s", ff.TTL))
		}
		secs := int64(d / time.Second)
		in.TTL = &secs
	}
	return in, ff, nil
}

type feedRow struct {
	feedJSON
	Packages int
}

// assessorChoices lists the users who may get an assess grant: assessors,
// plus anyone already holding one for the feed.
func (s *Server) assessorChoices(r *http.Request, holding map[string]bool) ([]string, error) {
	us, err := s.st.Users(r.Context())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range us {
		if u.Role == string(auth.Assessor) || holding[u.Username] {
			out = append(out, u.Username)
		}
	}
	return out, nil
}

func (s *Server) feedsPage(w http.ResponseWriter, r *http.Request, status int, form feedForm, errMsg string) {
	fs, err := s.st.Feeds(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	rows := make([]feedRow, 0, len(fs))
	for _, f := range fs {
		o, err := s.feedWithAssessors(r.Context(), f)
		if err != nil {
			s.uiFail(w, r, err, nil)
			return
		}
		_, n, err := s.st.FeedPackagePage(r.Context(), f.Name, "", 0, 1)
		if err != nil {
			s.uiFail(w, r, err, nil)
			return
		}
		rows = append(rows, feedRow{feedJSON: o, Packages: n})
	}
	choices, err := s.assessorChoices(r, form.Assessors)
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	if form.Sources == nil {
		form = formOf(store.Feed{Type: string(feed.NPM), Sources: []string{feed.SourceOSV}, MetadataTTL: feed.DefaultMetadataTTL}, nil)
	}
	s.render(w, r, status, "feeds", "Feeds", map[string]any{"Feeds": rows, "Form": form, "Types": feed.Types,
		"Users": choices, "Base": s.publicBase(r), "Policies": feedPolicies}, errMsg)
}

func (s *Server) uiFeeds(w http.ResponseWriter, r *http.Request) {
	s.feedsPage(w, r, http.StatusOK, feedForm{}, "")
}

func (s *Server) uiCreateFeed(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	in, form, err := readFeedForm(r, true)
	if err == nil {
		_, err = s.saveFeed(r, "", in, true)
	}
	if err != nil {
		s.uiFail(w, r, err, func(status int, msg string) { s.feedsPage(w, r, status, form, msg) })
		return
	}
	http.Redirect(w, r, "/admin/feeds/"+url.PathEscape(form.Name)+"?ok=feedcreated", http.StatusSeeOther)
}

// publicBase is the server's URL as the browser sees it, for the client
// set-up shown on the pages.
func (s *Server) publicBase(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return s.opts.PublicURL
	}
	scheme := "http"
	if r.TLS != nil || s.opts.SecureCookies {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) feedPage(w http.ResponseWriter, r *http.Request, status int, form *feedForm, errMsg string) {
	f, ok := s.pageFeed(w, r)
	if !ok {
		return
	}
	o, err := s.feedWithAssessors(r.Context(), f)
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	if form == nil {
		ff := formOf(f, o.Assessors, o.Approvers...)
		form = &ff
	}
	choices, err := s.assessorChoices(r, form.Assessors)
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	data := map[string]any{"F": o, "Form": form, "Users": choices, "Scope": feed.Scope(f.Name),
		"URL": s.publicBase(r) + proxy.Prefix + f.Name, "Policies": feedPolicies, "Effects": feedEffects}
	// The lists page with their own offsets (?doffset=, ?poffset=).
	q := r.URL.Query()
	badParam := func(_ int, msg string) { s.renderError(w, r, http.StatusBadRequest, msg) }
	decisions, err := s.feedDecisions(r.Context(), f.Name, url.Values{"offset": {q.Get("doffset")}, "effect": {q.Get("effect")}}, 25)
	if err != nil {
		s.uiFail(w, r, err, badParam)
		return
	}
	packages, err := s.feedPackages(r.Context(), f.Name, url.Values{"offset": {q.Get("poffset")}, "decision": {q.Get("decision")}}, 50)
	if err != nil {
		s.uiFail(w, r, err, badParam)
		return
	}
	browse, err := s.feedBrowser(r.Context(), f.Name, packages)
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	data["Decisions"], data["Packages"], data["Browse"] = decisions, packages, browse
	data["Effect"], data["Decision"] = q.Get("effect"), q.Get("decision")
	data["DNext"], data["PNext"] = pagerLink(r, "doffset", decisions.Offset, decisions.Limit, decisions.Total), pagerLink(r, "poffset", packages.Offset, packages.Limit, packages.Total)
	data["DPrev"], data["PPrev"] = pagerLink(r, "doffset", decisions.Offset, -decisions.Limit, decisions.Total), pagerLink(r, "poffset", packages.Offset, -packages.Limit, packages.Total)
	s.render(w, r, status, "feeds", "Feed "+f.Name, data, errMsg)
}

// pagerLink is the page's URL with key moved by step, or "" when that
// leaves the list.
func pagerLink(r *http.Request, key string, offset, step, total int) string {
	n := offset + step
	if n < 0 && offset > 0 {
		n = 0
	}
	if n < 0 || n >= total || n == offset {
		return ""
	}
	q := r.URL.Query()
	q.Del("ok")
	q.Set(key, fmt.Sprint(n))
	return r.URL.Path + "?" + q.Encode()
}

func (s *Server) uiFeed(w http.ResponseWriter, r *http.Request) {
	s.feedPage(w, r, http.StatusOK, nil, "")
}

func (s *Server) uiUpdateFeed(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	name := r.PathValue("name")
	in, form, err := readFeedForm(r, false)
	if err == nil {
		_, err = s.saveFeed(r, name, in, false)
	}
	if err != nil {
		s.uiFail(w, r, err, func(status int, msg string) { s.feedPage(w, r, status, &form, msg) })
		return
	}
	http.Redirect(w, r, "/admin/feeds/"+url.PathEscape(name)+"?ok=saved", http.StatusSeeOther)
}

func (s *Server) uiDeleteFeed(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteFeed(r, r.PathValue("name")); err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	http.Redirect(w, r, "/admin/feeds?ok=deleted", http.StatusSeeOther)
}

// pageFeed reads the feed a page's path names; when there is none (or the
// store fails) it answers the page and reports false.
func (s *Server) pageFeed(w http.ResponseWriter, r *http.Request) (store.Feed, bool) {
	name := r.PathValue("name")
	f, err := s.st.FeedByName(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, fmt.Sprintf("There is no feed named %q.", name))
		return f, false
	}
	if err != nil {
		s.uiFail(w, r, err, nil)
		return f, false
	}
	return f, true
}
