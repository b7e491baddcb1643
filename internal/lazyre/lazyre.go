// Package lazyre is a regular expression compiled on its first use.
//
// Package-level regexp.MustCompile values are compiled while the program
// starts, in every command: validation patterns with large counted
// repetitions (`[a-z0-9.-]{0,200}`) compile to large programs, and the
// packages of the one vulngate binary spent several milliseconds of every
// command's start (a third of a small scan's run) on patterns most
// commands never use. It leaves out all but what the project calls
// (MatchString, Match, String; Regexp for the rest); an invalid pattern
// panics at its first use instead of at start-up.
package lazyre

import (
	"regexp"
	"sync"
)

// Regexp is a pattern compiled by its first use.
type Regexp struct {
	expr string
	re   func() *regexp.Regexp
}

// New returns expr, to be compiled (with regexp.MustCompile) when first used.
func New(expr string) *Regexp {
	return &Regexp{expr: expr, re: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

// MatchString reports whether s contains a match of the pattern.
func (r *Regexp) MatchString(s string) bool { return r.re().MatchString(s) }

// Match reports whether b contains a match of the pattern.
func (r *Regexp) Match(b []byte) bool { return r.re().Match(b) }

// Regexp is the compiled pattern, for the regexp methods not repeated here.
func (r *Regexp) Regexp() *regexp.Regexp { return r.re() }

// String returns the pattern's source text.
func (r *Regexp) String() string { return r.expr }
