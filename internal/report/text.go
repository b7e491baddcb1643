package report

import (
	"strings"
	"unicode/utf8"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/severity"
)

// ANSI SGR colours for the table on a terminal.
const (
	colorMalicious = "1;35" // bold magenta
	colorCritical  = "1;31" // bold red
	colorHigh      = "31"   // red
	colorMedium    = "33"   // yellow
	colorLow       = "36"   // cyan
	colorBlock     = "1;31"
	colorWarn      = "33"
	colorError     = "1;31"
	colorFix       = "32" // green
)

func ratingColor(r severity.Rating) string {
	switch r {
	case "MALICIOUS":
		return colorMalicious
	case severity.Critical:
		return colorCritical
	case severity.High:
		return colorHigh
	case severity.Medium:
		return colorMedium
	case severity.Low:
		return colorLow
	}
	return ""
}

func effectColor(e assess.Effect) string {
	switch e {
	case assess.Block:
		return colorBlock
	case assess.Warn:
		return colorWarn
	}
	return ""
}

// painter adds ANSI colours when on; otherwise it returns text unchanged,
// so the layout never depends on colour.
type painter struct{ on bool }

func (p *painter) paint(code, s string) string {
	if !p.on || code == "" || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p *painter) bold(s string) string { return p.paint("1", s) }
func (p *painter) dim(s string) string  { return p.paint("2", s) }

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// pad fills s with spaces to n runes.
func pad(s string, n int) string {
	if k := runeLen(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// cut shortens s to at most n runes, ending in "…" when cut.
func cut(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if runeLen(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}
