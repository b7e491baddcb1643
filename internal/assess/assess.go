// Package assess implements vulnerability assessments in the manner of
// ProGet: assessment types (built-in Ignore, Caution and Blocked, plus
// custom ones) with an effect (allow, warn, block), an optional
// auto-assessment CVSS range and an optional expiry; assessments of a
// vulnerability (its whole alias group), globally or scoped to one project
// or feed, with an audit history; per-scope policies for unassessed
// vulnerabilities; recorded findings with source attribution and a
// lifecycle; and the decision (allow / warn / block, with reasons) that a
// scan or a download gate takes for a package.
//
// [Decide] is a pure function over in-memory values, meant for hot paths
// such as a download gate; [Service] wraps the store for everything that
// reads or writes assessments. It leaves out who may assess what (the
// server's permissions) and the VEX formats (internal/vex).
package assess

import (
	"fmt"
	"strings"

	"github.com/vulngate/vulngate/internal/lazyre"
)

// Effect is what an assessment type (or a policy for unassessed
// vulnerabilities) does to a package: allow it, allow it with a warning,
// or block it.
type Effect string

// Effects, from least to most severe.
const (
	Allow Effect = "allow"
	Warn  Effect = "warn"
	Block Effect = "block"
)

// ParseEffect parses allow, warn or block in any letter case.
func ParseEffect(s string) (Effect, error) {
	switch e := Effect(strings.ToLower(strings.TrimSpace(s))); e {
	case Allow, Warn, Block:
		return e, nil
	}
	return "", fmt.Errorf("unknown effect %q (want allow, warn or block)", s)
}

func (e Effect) rank() int {
	switch e {
	case Allow:
		return 0
	case Warn:
		return 1
	case Block:
		return 2
	}
	return -1
}

// Global is the scope of assessments and policies that apply everywhere.
const Global = "global"

var scopeName = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9._/@-]{0,127}$`)

// ParseScope validates a scope: "" or "global" (returned as [Global]),
// "project:NAME" or "feed:NAME", where NAME is 1-128 letters, digits and
// . _ / @ - (starting with a letter or digit).
func ParseScope(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, Global) {
		return Global, nil
	}
	kind, name, ok := strings.Cut(s, ":")
	kind = strings.ToLower(kind)
	if !ok || (kind != "project" && kind != "feed") {
		return "", fmt.Errorf("invalid scope %q: want global, project:NAME or feed:NAME", s)
	}
	if !scopeName.MatchString(name) {
		return "", fmt.Errorf("invalid scope %q: the name must be 1-128 letters, digits or . _ / @ -", s)
	}
	return kind + ":" + name, nil
}

// ProjectScope returns the scope of a project name, validated.
func ProjectScope(name string) (string, error) { return ParseScope("project:" + name) }

// FeedScope returns the scope "feed:NAME", validated.
func FeedScope(name string) (string, error) { return ParseScope("feed:" + name) }
