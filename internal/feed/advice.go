package feed

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/purl"
)

// Advice is what a refused or warned download is told to upgrade to: the
// nearest version above it that fixes every finding and is itself free
// of findings (and not blocked), chosen among the versions the upstream
// publishes (match.Upgrade.From "published") or, when the feed has no
// version list cached, among the advisories' fixed versions
// ("advisories").
type Advice struct {
	match.Upgrade
	// NeedsApproval is set in a feed that requires approval when no
	// approved version fixes the findings: Version is then the nearest
	// version free of findings, to ask approval for.
	NeedsApproval bool
}

// CheckOptions is what a download's check needs from the feed besides
// the package.
type CheckOptions struct {
	// Approved reports whether a version is approved in the feed; nil
	// when the feed does not require approval.
	Approved func(purl.Package) (bool, error)
	// Published lists the versions the upstream publishes of the
	// package (see Env.Published; fetch allows one upstream request when
	// nothing is cached); nil when unknown.
	Published func(fetch bool) []string
}

type adviceEntry struct {
	a    *Advice
	at   time.Time
	from string
}

// advise computes the upgrade advice for a decision with findings,
// remembered per feed and package while the gate's data stays the same
// (at most MaxAge). Candidates are evaluated by the gate like downloads
// (without recording anything): one with a finding or a block is never
// advised; in an approval feed an approved one is preferred.
func (g *Gate) advise(ctx context.Context, f Feed, d *Decision, o CheckOptions, fetch bool) *Advice {
	if d.result == nil || len(d.result.Findings) == 0 || d.Pkg.Version == "" {
		return nil
	}
	k := f.Name + "\x00" + d.Pkg.PURL
	if o.Approved != nil {
		k += "\x00approval"
	}
	now := g.opts.Now()
	g.mu.Lock()
	e, ok := g.advice[k]
	g.mu.Unlock()
	fresh := ok && now.Sub(e.at) < g.opts.MaxAge
	if fresh && (e.from == "published" || o.Published == nil) {
		return e.a
	}
	var published []string
	if o.Published != nil {
		published = releasesFor(f, d.Pkg.Version, o.Published(fetch))
	}
	if fresh && len(published) == 0 {
		// Still no version list: the advisories' advice stands.
		return e.a
	}
	t := Type(f.Type)
	var clean string // nearest version free of findings, approved or not
	accept := func(v string) bool {
		p, err := PackageFor(t, d.Pkg.Name, v)
		if err != nil {
			return false
		}
		ds, err := g.evaluate(ctx, f, []purl.Package{p}, false, false)
		if err != nil || ds[0].Blocked() || len(ds[0].Details) > 0 {
			return false
		}
		if o.Approved == nil {
			return true
		}
		ok, err := o.Approved(p)
		if err != nil || !ok {
			if clean == "" {
				clean = v
			}
			return false
		}
		return true
	}
	u := match.AdviseAmong(d.result, published, accept)
	var a *Advice
	switch {
	case u == nil:
	case u.Version == "" && clean != "":
		// No approved version fixes them: name the nearest clean one, to
		// ask approval for.
		if nu := match.AdviseAmong(d.result, published, func(v string) bool { return v == clean }); nu != nil && nu.Version != "" {
			a = &Advice{Upgrade: *nu, NeedsApproval: true}
		}
	default:
		a = &Advice{Upgrade: *u}
	}
	from := "advisories"
	if len(published) > 0 {
		from = "published"
	}
	g.mu.Lock()
	if g.advice == nil || len(g.advice) > 100_000 {
		g.advice = map[string]adviceEntry{}
	}
	g.advice[k] = adviceEntry{a: a, at: now, from: from}
	g.mu.Unlock()
	return a
}

// Advise returns the upgrade advice for pkg in f as a refused or warned
// download would get it (nil when the package has no findings), reading
// version lists only from the cache and recording nothing: for the feed's
// pages and API.
func (g *Gate) Advise(ctx context.Context, f Feed, pkg purl.Package, o CheckOptions) (*Advice, error) {
	d, err := g.Decide(ctx, f, pkg)
	if err != nil {
		return nil, err
	}
	return g.advise(ctx, f, d, o, false), nil
}

// releasesFor drops pre-releases from published versions unless the
// version in use is one itself (upgrade advice names releases, as
// dependency updaters do).
func releasesFor(f Feed, current string, published []string) []string {
	eco := Type(f.Type).Ecosystem()
	if len(published) == 0 || IsPrerelease(eco, current) {
		return published
	}
	out := make([]string, 0, len(published))
	for _, v := range published {
		if !IsPrerelease(eco, v) {
			out = append(out, v)
		}
	}
	return out
}

var (
	pep440Pre   = regexp.MustCompile(`(?i)[0-9](?:[._-]?(?:a|b|c|rc|alpha|beta|pre|preview|dev)[._-]?[0-9]*)`)
	mavenPre    = regexp.MustCompile(`(?i)(?:snapshot|alpha|beta|[.-]rc[0-9]*|[.-]cr[0-9]*|milestone|[.-]m[0-9]+|[.-]ea\b|[.-]preview)`)
	semverLabel = regexp.MustCompile(`^v?[0-9]+(?:\.[0-9]+)*-`)
)

// IsPrerelease reports whether version is a pre-release in its ecosystem:
// a SemVer pre-release label (npm, Go, NuGet), a PEP 440 pre- or
// development release (PyPI), or a snapshot, alpha, beta, milestone or
// release candidate (Maven).
func IsPrerelease(ecosystem, version string) bool {
	switch ecosystem {
	case "PyPI":
		return pep440Pre.MatchString(version)
	case "Maven":
		return mavenPre.MatchString(version)
	case "Go":
		// Pseudo-versions carry a label too; they are not in @v/list.
		return semverLabel.MatchString(strings.SplitN(version, "+", 2)[0])
	}
	return semverLabel.MatchString(strings.SplitN(version, "+", 2)[0])
}

// Short is the advice in a few words for a one-line message: "upgrade to
// 2.11.3 (patch)", "no published version fixes CVE-...".
func (a *Advice) Short() string { return a.shortNaming(nil) }

// shortNaming is Short in a message that already names the IDs in
// named: findings among them that nothing fixes are "it" or "them".
func (a *Advice) shortNaming(named map[string]bool) string {
	if a == nil {
		return ""
	}
	where := "published"
	if a.From != "published" {
		where = "known"
	}
	var b strings.Builder
	if a.Version != "" {
		// Without the upstream's list the version is the advisories'
		// fix, which the upstream may not carry.
		verb := "upgrade to "
		if a.From != "published" {
			verb = "fixed in "
		}
		b.WriteString(verb + a.Version)
		switch {
		case a.NeedsApproval && a.Step != "":
			b.WriteString(" (" + a.Step + ", once approved)")
		case a.NeedsApproval:
			b.WriteString(" (once approved)")
		case a.Step != "":
			b.WriteString(" (" + a.Step + ")")
		}
		if len(a.Unfixed) > 0 {
			b.WriteString("; ")
		}
	}
	if len(a.Unfixed) > 0 {
		b.WriteString("no " + where + " version ")
		if a.Version == "" && a.Refused > 0 {
			b.WriteString("free of findings ")
		}
		ids := someIDs(a.Unfixed, 2)
		if len(named) > 0 && !slices.ContainsFunc(a.Unfixed, func(id string) bool { return !named[id] }) {
			ids = "them"
			if len(a.Unfixed) == 1 {
				ids = "it"
			}
		}
		b.WriteString("fixes " + ids)
	}
	return b.String()
}

// Long is the advice as a sentence, for the go command's text body and
// the pages.
func (a *Advice) Long() string {
	if a == nil {
		return ""
	}
	where := "published by the upstream"
	if a.From != "published" {
		where = "named as fixed by the advisories"
	}
	var b strings.Builder
	if a.Version != "" {
		b.WriteString("Upgrade to " + a.Version)
		if a.Step != "" {
			b.WriteString(" (" + a.Step + " step)")
		}
		fmt.Fprintf(&b, ": the nearest version %s without known vulnerabilities", where)
		if a.NeedsApproval {
			b.WriteString("; it is not approved yet: ask for its approval")
		}
		if len(a.Unfixed) > 0 {
			b.WriteString("; none fixes " + someIDs(a.Unfixed, 3))
		}
		return b.String() + "."
	}
	if a.Refused > 0 {
		return fmt.Sprintf("No version %s fixes %s without known vulnerabilities of its own.", where, someIDs(a.Unfixed, 3))
	}
	return fmt.Sprintf("No version %s fixes %s.", where, someIDs(a.Unfixed, 3))
}

// someIDs lists at most n IDs, then how many more.
func someIDs(ids []string, n int) string {
	if len(ids) <= n {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:n], ", ") + fmt.Sprintf(" +%d more", len(ids)-n)
}
