package server

// The server's side of package feeds (internal/feed/proxy): OSS Index from
// the settings, re-evaluation of tracked packages after each OSV mirror
// run, and the feed actions the API (api_feeds.go) and the pages
// (ui_feeds.go) share.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/feed"
	"github.com/vulngate/vulngate/internal/feed/proxy"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/source/ossindex"
	"github.com/vulngate/vulngate/internal/store"
)

// newFeedProxy builds the feed proxy mounted at /feeds/.
func (s *Server) newFeedProxy() (*proxy.Handler, error) {
	return proxy.New(proxy.Options{Store: s.st, DataDir: s.opts.DataDir, Cache: feed.CacheOptions{Dir: s.opts.CacheDir}, Logger: s.log, Assessor: s.assess,
		PublicURL: s.opts.PublicURL, GoSumDB: s.opts.GoSumDB, NoGoSumDB: s.opts.NoGoSumDB,
		OSSIndex: &feedOSSIndex{s: s}, Gate: feed.GateOptions{OnRefused: s.feedRefused}, Upstream: feed.UpstreamOptions{UserAgent: "vulngate/" + s.opts.Version}})
}

// feedOSSIndex is OSS Index as configured in the settings when a feed
// asks (Administration > Vulnerability sources), built the way scans build
// it (Server.ossIndexSource) and kept while the settings stay the same.
type feedOSSIndex struct {
	s   *Server
	mu  sync.Mutex
	key OSSIndexSettings
	src *ossindex.Source
}

func (o *feedOSSIndex) Name() string  { return ossindex.SourceName }
func (o *feedOSSIndex) Title() string { return "OSS Index" }

func (o *feedOSSIndex) Lookup(ctx context.Context, pkgs []purl.Package) ([]match.SourceAnswer, error) {
	v, err := o.s.ossIndexSettings(ctx)
	if err != nil {
		return nil, err
	}
	if !v.Enabled || v.Token == "" {
		out := make([]match.SourceAnswer, len(pkgs))
		for i := range out {
			out[i].Err = errors.New("it is not enabled with a token under Administration > Vulnerability sources")
		}
		return out, nil
	}
	o.mu.Lock()
	src := o.src
	if src == nil || o.key != v {
		if src, err = o.s.ossIndexSource(ctx); err != nil {
			o.mu.Unlock()
			return nil, err
		}
		o.src, o.key = src, v
	}
	o.mu.Unlock()
	return src.Lookup(ctx, pkgs)
}

// reevaluateFeeds re-decides the packages every feed tracks after new
// advisories arrived (see proxy.Handler.Reevaluate).
func (s *Server) reevaluateFeeds(ctx context.Context, log *slog.Logger) error {
	if s.feeds == nil {
		return nil
	}
	rep, err := s.feeds.Reevaluate(ctx, log)
	if err != nil {
		return fmt.Errorf("re-evaluating the packages tracked by feeds: %w", err)
	}
	log.Info("feeds: tracked packages re-evaluated", "feeds", rep.Feeds, "packages", rep.Packages, "changed", rep.Changed, "blocked", rep.Blocked)
	return nil
}

type feedJSON struct {
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Upstream    string    `json:"upstream"`
	Sources     []string  `json:"sources"`
	Unassessed  string    `json:"unassessed"`
	Filter      bool      `json:"filter_blocked"`
	Audit       bool      `json:"audit_required"`
	TTL         int64     `json:"metadata_ttl_seconds"`
	Description string    `json:"description"`
	Assessors   []string  `json:"assessors"`
	Path        string    `json:"path"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
	// RequireApproval serves package versions only once approved;
	// Approvers hold the approve grant of scope feed:NAME.
	RequireApproval bool     `json:"require_approval"`
	Approvers       []string `json:"approvers"`
}

func feedOut(f store.Feed, assessors []string) feedJSON {
	u := f.Unassessed
	if u == "" {
		u = "inherit"
	}
	return feedJSON{Name: f.Name, Type: f.Type, Upstream: f.Upstream, Sources: nonNilS(f.Sources), Unassessed: u, Filter: f.FilterBlocked,
		Audit: f.AuditRequired, TTL: int64(f.MetadataTTL / time.Second), Description: f.Description, Assessors: nonNilS(assessors), Path: proxy.Prefix + f.Name + "/",
		Created: f.Created, Updated: f.Updated, RequireApproval: f.RequireApproval, Approvers: []string{}}
}

// feedInput creates a feed (all fields but name, type and upstream
// optional) or changes one (nil fields are kept; name and type cannot
// change).
type feedInput struct {
	Name        *string   `json:"name"`
	Type        *string   `json:"type"`
	Upstream    *string   `json:"upstream"`
	Sources     *[]string `json:"sources"`
	Unassessed  *string   `json:"unassessed"`
	Filter      *bool     `json:"filter_blocked"`
	Audit       *bool     `json:"audit_required"`
	TTL         *int64    `json:"metadata_ttl_seconds"`
	Description *string   `json:"description"`
	Assessors   *[]string `json:"assessors"`
	// RequireApproval and Approvers: see feedJSON.
	RequireApproval *bool     `json:"require_approval"`
	Approvers       *[]string `json:"approvers"`
}

// applyFeed validates in onto f (a new feed when create).
func applyFeed(f *store.Feed, in feedInput, create bool) error {
	if create {
		if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
			return store.Invalid(errors.New("name: required"))
		}
		if in.Type == nil || strings.TrimSpace(*in.Type) == "" {
			return store.Invalid(errors.New("type: required (npm, pypi, go, maven, nuget)"))
		}
		*f = store.Feed{Name: strings.TrimSpace(*in.Name), Type: *in.Type, Sources: []string{feed.SourceOSV}, MetadataTTL: feed.DefaultMetadataTTL}
	} else {
		if in.Name != nil && *in.Name != f.Name {
			return store.Invalid(errors.New("name: a feed cannot be renamed; create a new one"))
		}
		if in.Type != nil && !strings.EqualFold(strings.TrimSpace(*in.Type), f.Type) {
			return store.Invalid(errors.New("type: a feed's type cannot change; create a new feed"))
		}
	}
	if in.Upstream != nil {
		f.Upstream = *in.Upstream
	}
	if in.Sources != nil {
		src, err := feed.ParseSources(strings.Join(*in.Sources, ","))
		if err != nil {
			return store.Invalid(fmt.Errorf("sources: %w", err))
		}
		f.Sources = src
	}
	if in.Unassessed != nil {
		f.Unassessed = *in.Unassessed
	}
	if in.Filter != nil {
		f.FilterBlocked = *in.Filter
	}
	if in.Audit != nil {
		f.AuditRequired = *in.Audit
	}
	if in.TTL != nil {
		if *in.TTL < 0 || *in.TTL > int64(feed.MaxMetadataTTL/time.Second) {
			return store.Invalid(fmt.Errorf("metadata_ttl_seconds %d: want 0 to %d", *in.TTL, int64(feed.MaxMetadataTTL/time.Second)))
		}
		f.MetadataTTL = time.Duration(*in.TTL) * time.Second
	}
	if in.Description != nil {
		f.Description = *in.Description
	}
	if in.RequireApproval != nil {
		f.RequireApproval = *in.RequireApproval
	}
	if err := feed.Validate(f); err != nil {
		return store.Invalid(err)
	}
	return nil
}

// cleanAssessors trims and de-duplicates user names (nil stays nil: keep).
func cleanAssessors(in *[]string) []string {
	if in == nil {
		return nil
	}
	out := []string{}
	seen := map[string]bool{}
	for _, u := range *in {
		if u = strings.TrimSpace(u); u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// saveFeed creates or updates a feed with its assessors and makes the
// proxy see the change at once.
func (s *Server) saveFeed(r *http.Request, name string, in feedInput, create bool) (store.Feed, error) {
	var f store.Feed
	if !create {
		var err error
		if f, err = s.st.FeedByName(r.Context(), name); err != nil {
			return f, err
		}
	}
	if err := applyFeed(&f, in, create); err != nil {
		return f, err
	}
	if err := s.st.SaveFeedWith(r.Context(), f, create, store.FeedGrants{Assessors: cleanAssessors(in.Assessors), Approvers: cleanAssessors(in.Approvers)}, time.Now()); err != nil {
		return f, err
	}
	if s.feeds != nil {
		s.feeds.Forget(f.Name)
	}
	action := "feed updated"
	if create {
		action = "feed created"
	}
	s.log.Info(action, "by", principal(r).Username, "feed", f.Name, "type", f.Type, "upstream", f.Upstream)
	return s.st.FeedByName(r.Context(), f.Name)
}

// deleteFeed removes a feed, its cache index and the cached files no
// other feed uses.
func (s *Server) deleteFeed(r *http.Request, name string) error {
	orphans, err := s.st.DeleteFeed(r.Context(), name)
	if err != nil {
		return err
	}
	if s.feeds != nil {
		s.feeds.Env().Cache.RemoveBlobs(orphans)
		s.feeds.Forget(name)
	}
	s.log.Info("feed deleted", "by", principal(r).Username, "feed", name, "cached_files_removed", len(orphans))
	return nil
}

func (s *Server) feedWithAssessors(ctx context.Context, f store.Feed) (feedJSON, error) {
	as, err := s.st.FeedAssessors(ctx, f.Name)
	if err != nil {
		return feedJSON{}, err
	}
	o := feedOut(f, as)
	if o.Approvers, err = s.st.FeedApprovers(ctx, f.Name); err != nil {
		return feedJSON{}, err
	}
	return o, nil
}

// effectParam reads an optional allow/warn/block filter; extra lists the
// other values the audit knows (hidden, unapproved).
func effectParam(q url.Values, k string, extra ...string) (string, error) {
	v := strings.TrimSpace(q.Get(k))
	if v == "" || slices.Contains(extra, v) {
		return v, nil
	}
	e, err := assess.ParseEffect(v)
	if err != nil {
		return "", fmt.Errorf("%s: %w", k, err)
	}
	return string(e), nil
}

type feedDecisionJSON struct {
	Seq     int64     `json:"seq"`
	PURL    string    `json:"purl"`
	Effect  string    `json:"effect"`
	Reasons string    `json:"reasons"`
	Client  string    `json:"client"`
	At      time.Time `json:"at"`
}

type feedDecisionPage = listPage[feedDecisionJSON]

// feedDecisions reads one page of a feed's audit (offset, limit, effect in
// q); the audit of a deleted feed stays readable.
func (s *Server) feedDecisions(ctx context.Context, name string, q url.Values, def int) (feedDecisionPage, error) {
	offset, limit, err := pageParams(q, def)
	if err != nil {
		return feedDecisionPage{}, store.Invalid(err)
	}
	eff, err := effectParam(q, "effect", feed.EffectHidden, feed.EffectUnapproved)
	if err != nil {
		return feedDecisionPage{}, store.Invalid(fmt.Errorf("%w (or %s, %s)", err, feed.EffectHidden, feed.EffectUnapproved))
	}
	ds, total, err := s.st.FeedDecisionPage(ctx, name, eff, offset, limit)
	if err != nil {
		return feedDecisionPage{}, err
	}
	if total == 0 {
		if _, err := s.st.FeedByName(ctx, name); err != nil {
			return feedDecisionPage{}, err
		}
	}
	out := feedDecisionPage{Total: total, Offset: offset, Limit: limit, Items: make([]feedDecisionJSON, 0, len(ds))}
	for _, d := range ds {
		out.Items = append(out.Items, feedDecisionJSON{Seq: d.Seq, PURL: d.PURL, Effect: d.Effect, Reasons: d.Reasons, Client: d.Client, At: d.At})
	}
	return out, nil
}

type feedPackageJSON struct {
	PURL      string    `json:"purl"`
	Ecosystem string    `json:"ecosystem"`
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	Decision  string    `json:"decision"`
	Downloads int64     `json:"downloads"`
	Refused   int64     `json:"refused"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Upgrade is what a refused or warned download of this version is
	// told to upgrade to (feed.Advice), from what the feed has cached.
	Upgrade *feedUpgradeJSON `json:"upgrade,omitempty"`
}

// feedUpgradeJSON is a feed's upgrade advice: the nearest version without
// known vulnerabilities (upgradeOut), whether it needs approval first,
// the lowest version the feed serves when lower (with warnings), and the
// advice in words, short (what one-line clients show) and long.
type feedUpgradeJSON struct {
	upgradeOut
	NeedsApproval bool   `json:"needs_approval,omitempty"`
	Served        string `json:"served,omitempty"`
	ServedStep    string `json:"served_step,omitempty"`
	Text          string `json:"text"`
	Detail        string `json:"detail"`
}

type feedPackagePage = listPage[feedPackageJSON]

// feedPackages reads one page of the packages a feed tracks (offset,
// limit, decision in q).
func (s *Server) feedPackages(ctx context.Context, name string, q url.Values, def int) (feedPackagePage, error) {
	f, err := s.st.FeedByName(ctx, name)
	if err != nil {
		return feedPackagePage{}, err
	}
	offset, limit, err := pageParams(q, def)
	if err != nil {
		return feedPackagePage{}, store.Invalid(err)
	}
	dec, err := effectParam(q, "decision", feed.EffectUnapproved)
	if err != nil {
		return feedPackagePage{}, store.Invalid(fmt.Errorf("%w (or %s)", err, feed.EffectUnapproved))
	}
	ps, total, err := s.st.FeedPackagePage(ctx, name, dec, offset, limit)
	if err != nil {
		return feedPackagePage{}, err
	}
	out := feedPackagePage{Total: total, Offset: offset, Limit: limit, Items: make([]feedPackageJSON, 0, len(ps))}
	for _, p := range ps {
		item := feedPackageJSON{PURL: p.PURL, Ecosystem: p.Ecosystem, Name: p.Name, Version: p.Version, Decision: p.Decision,
			Downloads: p.Downloads, Refused: p.Refused, FirstSeen: p.FirstSeen, LastSeen: p.LastSeen}
		if item.Upgrade, err = s.feedUpgrade(ctx, f, p.Name, p.Version, p.Decision); err != nil {
			return feedPackagePage{}, err
		}
		out.Items = append(out.Items, item)
	}
	return out, nil
}

// feedUpgrade is the upgrade advice for a tracked version that is not
// allowed, as its download is told it (without asking the upstream).
func (s *Server) feedUpgrade(ctx context.Context, f store.Feed, name, version, decision string) (*feedUpgradeJSON, error) {
	if s.feeds == nil || decision == string(assess.Allow) {
		return nil, nil
	}
	pkg, err := feed.PackageFor(feed.Type(f.Type), name, version)
	if err != nil {
		return nil, nil // not a version the feed could serve: no advice
	}
	a, err := s.feeds.Env().Advise(ctx, f, pkg)
	if err != nil || a == nil {
		return nil, err
	}
	return &feedUpgradeJSON{
		upgradeOut:    upgradeOut{Version: a.Version, Step: a.Step, Fixes: a.Fixes, Unfixed: nonNilS(a.Unfixed), From: a.From},
		NeedsApproval: a.NeedsApproval, Served: a.Served, ServedStep: a.ServedStep, Text: a.Short(), Detail: a.Long(),
	}, nil
}
