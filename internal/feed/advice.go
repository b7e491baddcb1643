package feed

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/lazyre"
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
	// Served is, for a refused version, the lowest version above it that
	// the feed serves (no finding that blocks in its scope; approved
	// where the feed requires approval), when it is not Version: it
	// still has findings the feed warns about. ServedStep is its step.
	Served, ServedStep string
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
	a       *Advice
	at      time.Time
	from    string
	checked time.Time // when the cache was last looked at for a version list
}

// listRecheck is how often advice made without a version list looks
// again whether one is cached (a served download of a Go module or Maven
// artifact need not read it: one store lookup at most this often).
const listRecheck = 30 * time.Second

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
	if fresh && (e.from == "published" || o.Published == nil || !fetch && now.Sub(e.checked) < listRecheck) {
		return e.a
	}
	var published []string
	if o.Published != nil {
		published = releasesFor(f, d.Pkg.Version, o.Published(fetch))
	}
	if fresh && len(published) == 0 {
		// Still no version list: the advisories' advice stands.
		g.mu.Lock()
		if g.advice != nil {
			e.checked = now
			g.advice[k] = e
		}
		g.mu.Unlock()
		return e.a
	}
	t := Type(f.Type)
	// served: the gate would serve v (not blocked, approved where the
	// feed requires it); clean: it also has no finding at all.
	var cleanUnapproved string // nearest clean version not approved yet
	check := func(v string, clean bool) bool {
		p, err := PackageFor(t, d.Pkg.Name, v)
		if err != nil {
			return false
		}
		ds, err := g.evaluate(ctx, f, []purl.Package{p}, false, false)
		if err != nil || ds[0].Blocked() || clean && len(ds[0].Details) > 0 {
			return false
		}
		if o.Approved == nil {
			return true
		}
		ok, err := o.Approved(p)
		if err != nil || !ok {
			if clean && cleanUnapproved == "" {
				cleanUnapproved = v
			}
			return false
		}
		return true
	}
	u := match.AdviseAmong(d.result, published, func(v string) bool { return check(v, true) })
	var a *Advice
	switch {
	case u == nil:
	case u.Version == "" && cleanUnapproved != "":
		// No approved version fixes them: name the nearest clean one, to
		// ask approval for.
		if nu := match.AdviseAmong(d.result, published, func(v string) bool { return v == cleanUnapproved }); nu != nil && nu.Version != "" {
			a = &Advice{Upgrade: *nu, NeedsApproval: true}
		}
	default:
		a = &Advice{Upgrade: *u}
	}
	if a != nil && d.Blocked() {
		a.Served, a.ServedStep = g.lowestServed(d, published, check)
		if a.Served == a.Version {
			a.Served, a.ServedStep = "", ""
		}
	}
	from := "advisories"
	if len(published) > 0 {
		from = "published"
	}
	g.mu.Lock()
	if g.advice == nil || len(g.advice) > 100_000 {
		g.advice = map[string]adviceEntry{}
	}
	g.advice[k] = adviceEntry{a: a, at: now, from: from, checked: now}
	g.mu.Unlock()
	return a
}

// lowestServed returns the lowest candidate fixing every finding that
// blocks d (the others may remain) that served accepts, and its step.
func (g *Gate) lowestServed(d *Decision, published []string, check func(v string, clean bool) bool) (string, string) {
	blocking := map[string]bool{}
	for _, v := range d.Findings {
		if v.Effect == assess.Block {
			blocking[v.Finding.ID] = true
		}
	}
	r := *d.result
	r.Findings = slices.DeleteFunc(slices.Clone(r.Findings), func(s match.Scored) bool { return !blocking[s.ID] })
	if len(r.Findings) == 0 {
		return "", ""
	}
	u := match.AdviseAmong(&r, published, func(v string) bool { return check(v, false) })
	if u == nil || u.Version == "" {
		return "", ""
	}
	return u.Version, u.Step
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
	pep440Pre   = lazyre.New(`(?i)[0-9](?:[._-]?(?:a|b|c|rc|alpha|beta|pre|preview|dev)[._-]?[0-9]*)`)
	mavenPre    = lazyre.New(`(?i)(?:snapshot|alpha|beta|[.-]rc[0-9]*|[.-]cr[0-9]*|milestone|[.-]m[0-9]+|[.-]ea\b|[.-]preview)`)
	semverLabel = lazyre.New(`^v?[0-9]+(?:\.[0-9]+)*-`)
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
	var parts []string
	if a.Version != "" {
		// Without the upstream's list the version is the advisories'
		// fix, which the upstream may not carry.
		verb := "upgrade to "
		if a.From != "published" {
			verb = "fixed in "
		}
		s := verb + a.Version
		switch {
		case a.NeedsApproval && a.Step != "":
			s += " (" + a.Step + ", once approved)"
		case a.NeedsApproval:
			s += " (once approved)"
		case a.Step != "":
			s += " (" + a.Step + ")"
		}
		if a.Served != "" {
			s += ", or " + withStep(a.Served, a.ServedStep) + " with warnings"
		}
		parts = append(parts, s)
	} else if a.Served != "" {
		parts = append(parts, "upgrade to "+withStep(a.Served, a.ServedStep)+" with warnings")
	}
	if len(a.Unfixed) > 0 {
		s := "no " + where + " version "
		if a.Version == "" && a.Refused > 0 {
			s += "free of findings "
		}
		ids := someIDs(a.Unfixed, 2)
		if len(named) > 0 && !slices.ContainsFunc(a.Unfixed, func(id string) bool { return !named[id] }) {
			ids = "them"
			if len(a.Unfixed) == 1 {
				ids = "it"
			}
		}
		parts = append(parts, s+"fixes "+ids)
	}
	return strings.Join(parts, "; ")
}

// withStep is "2.11.3 (patch)", or the version alone without a step.
func withStep(v, step string) string {
	if step == "" {
		return v
	}
	return v + " (" + step + ")"
}

// Long is the advice as sentences on one line, for the pages.
func (a *Advice) Long() string { return strings.Join(a.Lines(), " ") }

// Lines is the advice as one or two sentences, one a line, for the go
// command's text body: the nearest version without known
// vulnerabilities (or that none fixes the findings), then the lowest
// version the feed serves when it is another.
func (a *Advice) Lines() []string {
	if a == nil {
		return nil
	}
	where := "published by the upstream"
	if a.From != "published" {
		where = "named as fixed by the advisories"
	}
	var first string
	switch {
	case a.Version != "":
		var b strings.Builder
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
		first = b.String() + "."
	case a.Refused > 0:
		first = fmt.Sprintf("No version %s fixes %s without known vulnerabilities of its own.", where, someIDs(a.Unfixed, 3))
	default:
		first = fmt.Sprintf("No version %s fixes %s.", where, someIDs(a.Unfixed, 3))
	}
	out := []string{first}
	if a.Served != "" {
		s := a.Served
		if a.ServedStep != "" {
			s += " (" + a.ServedStep + " step)"
		}
		out = append(out, s+" is the lowest version above it that the feed serves, with warnings.")
	}
	return out
}

// someIDs lists at most n IDs, then how many more.
func someIDs(ids []string, n int) string {
	if len(ids) <= n {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:n], ", ") + fmt.Sprintf(" +%d more", len(ids)-n)
}
