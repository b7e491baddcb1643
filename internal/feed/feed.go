// Package feed implements vulngate's package feeds: read-only caching
// proxies of package registries (npm, PyPI, Go modules, Maven, NuGet) that
// refuse downloads whose vulnerabilities are assessed Blocked.
//
// This package holds what the protocols share: the feed model and its
// validation ([Validate]), the upstream HTTP client with timeouts and size
// limits ([Upstream]), the metadata cache (TTL, served stale when the
// upstream is down) and the content-addressed artifact cache on disk
// ([Cache], shareable by several instances), the gate that decides on each
// artifact download and audits every decision, keeping decisions to write
// or refusing downloads while the database is down ([Gate]), and
// the helpers protocols use to refuse or warn in the way each client
// prints ([Refuse], [Warn]). Each protocol lives in its own package
// (internal/feed/npm, pypi, gomod, maven, nuget) as an http.Handler;
// internal/feed/proxy routes /feeds/{feed}/... to them.
//
// Upstream registry URLs are configuration: there are no built-in hosts.
// Left out: publishing, authentication towards upstreams, search APIs,
// and any protocol surface the real clients do not need to install.
package feed

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

// Feed is a feed's configuration (see store.Feed).
type Feed = store.Feed

// Type is a feed's protocol.
type Type string

// Feed types.
const (
	NPM   Type = "npm"
	PyPI  Type = "pypi"
	Go    Type = "go"
	Maven Type = "maven"
	NuGet Type = "nuget"
)

// Types lists the feed types.
var Types = []Type{NPM, PyPI, Go, Maven, NuGet}

// ParseType parses a feed type in any letter case.
func ParseType(s string) (Type, error) {
	t := Type(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Types, t) {
		return t, nil
	}
	return "", fmt.Errorf("unknown feed type %q (want npm, pypi, go, maven or nuget)", s)
}

// Ecosystem is the OSV ecosystem of the feed type's packages.
func (t Type) Ecosystem() string {
	switch t {
	case NPM:
		return "npm"
	case PyPI:
		return "PyPI"
	case Go:
		return "Go"
	case Maven:
		return "Maven"
	case NuGet:
		return "NuGet"
	}
	return ""
}

// Vulnerability sources a feed can consult.
const (
	SourceOSV      = "osv"
	SourceOSSIndex = "ossindex"
)

// Defaults.
const (
	DefaultMetadataTTL = 5 * time.Minute
	MaxMetadataTTL     = 7 * 24 * time.Hour
)

// A feed name matches ^[a-z0-9][a-z0-9._-]{0,62}$.
var (
	feedNameFirst = NewCharset("a-z0-9")
	feedNameRest  = NewCharset("a-z0-9._-")
)

// ValidateName checks a feed name: 1-63 lowercase letters, digits, ".",
// "_" or "-", starting with a letter or digit (it is a URL path segment
// and part of the assessment scope "feed:NAME").
func ValidateName(name string) error {
	if !Token(name, feedNameFirst, feedNameRest, 62) || strings.Contains(name, "..") {
		return fmt.Errorf("invalid feed name %q: want 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// ValidateUpstream checks and normalizes an upstream registry URL: http or
// https with a host, no credentials, query or fragment; the trailing slash
// is removed.
func ValidateUpstream(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fmt.Errorf("no upstream URL: a feed needs the URL of the registry it proxies")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("upstream URL %q: %v", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("upstream URL %q: want an http:// or https:// URL with a host", raw)
	}
	if u.User != nil {
		return "", fmt.Errorf("upstream URL %q: credentials in the URL are not supported", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("upstream URL %q: must not have a query or fragment", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// ParseSources parses a comma-separated list of vulnerability sources.
func ParseSources(s string) ([]string, error) {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if p != SourceOSV && p != SourceOSSIndex {
			return nil, fmt.Errorf("unknown vulnerability source %q (want osv, ossindex)", p)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no vulnerability source: want osv, ossindex or both")
	}
	slices.Sort(out)
	return out, nil
}

// ParseUnassessed parses a policy for unassessed vulnerabilities: allow,
// warn, block, or "inherit" / "" (use the assessment policy of the
// feed's scope, else the global one).
func ParseUnassessed(s string) (string, error) {
	switch p := strings.ToLower(strings.TrimSpace(s)); p {
	case "", "inherit":
		return "", nil
	case "allow", "warn", "block":
		return p, nil
	}
	return "", fmt.Errorf("unknown policy %q for unassessed vulnerabilities (want allow, warn, block or inherit)", s)
}

// Validate checks and normalizes a feed's configuration in place.
func Validate(f *Feed) error {
	if err := ValidateName(f.Name); err != nil {
		return err
	}
	t, err := ParseType(f.Type)
	if err != nil {
		return err
	}
	f.Type = string(t)
	if f.Upstream, err = ValidateUpstream(f.Upstream); err != nil {
		return err
	}
	if f.Sources, err = ParseSources(strings.Join(f.Sources, ",")); err != nil {
		return err
	}
	if f.Unassessed, err = ParseUnassessed(f.Unassessed); err != nil {
		return err
	}
	if f.MetadataTTL < 0 || f.MetadataTTL > MaxMetadataTTL {
		return fmt.Errorf("metadata TTL %s: want between 0 and %s", f.MetadataTTL, MaxMetadataTTL)
	}
	if f.MetadataTTL%time.Second != 0 {
		return fmt.Errorf("metadata TTL %s: want whole seconds", f.MetadataTTL)
	}
	if len(f.Description) > 1000 {
		return fmt.Errorf("description: at most 1000 characters")
	}
	return nil
}

// Scope is the assessment scope of a feed, "feed:NAME".
func Scope(name string) string { return "feed:" + name }

// HasSource reports whether the feed consults source.
func HasSource(f Feed, source string) bool { return slices.Contains(f.Sources, source) }
