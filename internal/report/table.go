package report

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/severity"
)

// DefaultWidth is the table's width when the output is not a terminal.
const DefaultWidth = 120

// The table for people: the summary first, then one block per component
// with findings or errors, worst first. A block opens with the component
// (name, version, ecosystem) and its decision, once; its findings follow,
// most severe first, one line each: severity, one ID with "+N aliases",
// assessment, fixed versions and the summary cut to the width left.
// Colour (Meta.Color) marks severities and decisions; without it the text
// is the same.

// Column limits: what does not fit is cut with "…". The EXPLOIT column
// (KEV, EPSS percentile) appears when any finding has such data.
const (
	maxIDWidth     = 34
	maxAssessWidth = 30
	maxFixedWidth  = 16
	minSummary     = 16 // below this, the summary column is left out
	wantSummary    = 30 // columns shrink to give the summary this much
	minAssessWidth = 12
	minFixedWidth  = 8
	indent         = "  "
	gap            = "  "
)

type tableRow struct {
	sev, id, assess, fixed, exploit, summary string
	aliases                                  int    // IDs of the group besides id
	rating                                   string // for colour
}

type tableBlock struct {
	header   string
	decision assess.Effect
	rows     []tableRow
	upgrade  string // what to upgrade to, "" when unknown
	errors   []string
	rank     findingRank
}

// findingRank orders findings and components, most severe first: known
// malware above every rating, then the rating, then the score.
type findingRank struct {
	malicious bool
	rating    int
	score     float64
	kev       bool    // ties: known exploited first,
	epss      float64 // then the likelier to be exploited
}

func rankOf(f match.Scored) findingRank {
	r := findingRank{malicious: f.Malicious, rating: ratingRank(f.Severity.Rating), score: f.Severity.Score, kev: f.KEV != nil}
	if f.EPSS != nil {
		r.epss = f.EPSS.EPSS
	}
	return r
}

func ratingRank(r severity.Rating) int {
	return slices.Index([]severity.Rating{severity.Unknown, severity.None, severity.Low, severity.Medium, severity.High, severity.Critical}, r)
}

// compareRank sorts the more severe first.
func compareRank(a, b findingRank) int {
	if a.malicious != b.malicious {
		if a.malicious {
			return -1
		}
		return 1
	}
	if n := cmp.Compare(b.rating, a.rating); n != 0 {
		return n
	}
	if n := cmp.Compare(b.score, a.score); n != 0 {
		return n
	}
	if a.kev != b.kev {
		if a.kev {
			return -1
		}
		return 1
	}
	return cmp.Compare(b.epss, a.epss)
}

func writeTable(w io.Writer, results []match.ComponentResult, meta Meta) error {
	width := meta.Width
	if width <= 0 {
		width = DefaultWidth
	}
	p := &painter{on: meta.Color}
	tw := &textWriter{w: w}

	writeSummary(tw, p, Summarize(results), meta, width)

	blocks := buildBlocks(results, meta)
	if len(blocks) == 0 {
		tw.line("")
		tw.line("No known vulnerabilities found.")
		return tw.err
	}
	cols := columnWidths(blocks, width, meta.Decisions != nil)
	tw.line("")
	tw.line(p.dim(cols.header(meta.Decisions != nil)))
	for _, b := range blocks {
		tw.line(blockHeader(p, b, width))
		for _, r := range b.rows {
			tw.line(cols.row(p, r, meta.Decisions != nil))
		}
		if b.upgrade != "" {
			tw.line(indent + p.paint(colorFix, "UPGRADE") + gap + cut(b.upgrade, width-len(indent)-7-len(gap)))
		}
		for _, e := range b.errors {
			tw.line(indent + p.paint(colorError, "ERROR") + gap + cut(e, width-len(indent)-5-len(gap)))
		}
	}
	return tw.err
}

// writeSummary writes the counts first: components, findings by category,
// decisions and the sources consulted.
func writeSummary(tw *textWriter, p *painter, s Summary, meta Meta, width int) {
	what := "components"
	if s.Components == 1 {
		what = "component"
	}
	line := fmt.Sprintf("%d %s scanned: %d vulnerable, %s", s.Components, what, s.Vulnerable, plural(s.Findings, "finding"))
	if s.WithErrors > 0 {
		line += fmt.Sprintf(", %d with errors", s.WithErrors)
	}
	tw.line(p.bold(cut(line, width)))
	var cats []string
	if s.Malicious > 0 {
		cats = append(cats, p.paint(colorMalicious, fmt.Sprintf("%d malicious", s.Malicious)))
	}
	for _, r := range []severity.Rating{severity.Critical, severity.High, severity.Medium, severity.Low, severity.None, severity.Unknown} {
		n := s.ByRating[string(r)]
		if n == 0 && (r == severity.None || r == severity.Unknown) {
			continue
		}
		txt := fmt.Sprintf("%d %s", n, strings.ToLower(string(r)))
		if n > 0 {
			txt = p.paint(ratingColor(r), txt)
		}
		cats = append(cats, txt)
	}
	if s.Findings > 0 {
		tw.line(indent + "findings:  " + strings.Join(cats, ", "))
	}
	if meta.Decisions != nil {
		n := map[assess.Effect]int{}
		for _, d := range meta.Decisions {
			n[d.Effect]++
		}
		var parts []string
		for _, e := range []assess.Effect{assess.Block, assess.Warn, assess.Allow} {
			txt := fmt.Sprintf("%d %s", n[e], e)
			if n[e] > 0 {
				txt = p.paint(effectColor(e), txt)
			}
			parts = append(parts, txt)
		}
		tw.line(indent + "decisions: " + strings.Join(parts, ", "))
	}
	if len(meta.Sources) > 0 {
		src := strings.Join(meta.Sources, ", ")
		if len(meta.SourceNotes) > 0 {
			src += " (" + strings.Join(meta.SourceNotes, "; ") + ")"
		}
		tw.line(cut(indent+"sources:   "+sanitize(src), width))
	}
}

// buildBlocks turns results into blocks, worst first; clean components
// are left out (the summary counts them).
func buildBlocks(results []match.ComponentResult, meta Meta) []tableBlock {
	var blocks []tableBlock
	for ri, r := range results {
		if len(r.Findings) == 0 && len(r.Errors) == 0 {
			continue
		}
		d := meta.decision(ri)
		b := tableBlock{header: componentTitle(r), rank: findingRank{rating: -2}}
		if d != nil {
			b.decision = d.Effect
		}
		order := make([]int, len(r.Findings))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(i, j int) int {
			if n := compareRank(rankOf(r.Findings[i]), rankOf(r.Findings[j])); n != 0 {
				return n
			}
			return match.CompareIDs(r.Findings[i].ID, r.Findings[j].ID)
		})
		for k, fi := range order {
			f := r.Findings[fi]
			if k == 0 {
				b.rank = rankOf(f)
			}
			row := tableRow{sev: severityText(f), rating: string(f.Severity.Rating), id: sanitize(f.ID), aliases: len(aliases(f)),
				fixed: fixedText(f.Fixed), exploit: exploitText(f), summary: strings.TrimSpace(sanitize(f.Summary))}
			if f.Malicious {
				row.rating = "MALICIOUS"
			}
			if d != nil && fi < len(d.Findings) {
				row.assess = sanitize(verdictLabel(d.Findings[fi]))
			}
			b.rows = append(b.rows, row)
		}
		b.upgrade = upgradeText(r.Upgrade)
		for _, e := range r.Errors {
			b.errors = append(b.errors, sanitize(e))
		}
		blocks = append(blocks, b)
	}
	slices.SortStableFunc(blocks, func(a, b tableBlock) int {
		if n := compareRank(a.rank, b.rank); n != 0 {
			return n
		}
		return strings.Compare(a.header, b.header)
	})
	return blocks
}

// componentTitle is "name version (Ecosystem)", or the input as given when
// the component could not be identified, followed by where it was read
// ("at pom.xml:12") and "transitive" when the input says so.
func componentTitle(r match.ComponentResult) string {
	name, eco := r.Name, ""
	if r.Package.Name != "" {
		name, eco = r.Package.Name, r.Package.Ecosystem
	}
	name = orInput(name, r.Input)
	t := name
	if r.Version != "" {
		t += " " + r.Version
	}
	if eco != "" {
		t += " (" + eco + ")"
	}
	if r.File != "" {
		at := r.File
		if r.Line > 0 {
			at += ":" + strconv.Itoa(r.Line)
		}
		t += " at " + at
	}
	if r.Relationship == "transitive" {
		t += ", transitive"
	}
	return sanitize(t)
}

// blockHeader is the component's line: its decision (padded so names
// line up; ERROR when it has errors and no findings, as it was not fully
// checked), its name and how many findings it has.
func blockHeader(p *painter, b tableBlock, width int) string {
	n := len(b.rows)
	tail := plural(n, "finding")
	dec, color := "", ""
	if b.decision != "" {
		dec, color = strings.ToUpper(string(b.decision)), effectColor(b.decision)
	}
	if n == 0 {
		tail = "not fully checked"
		if dec != "" {
			dec, color = "ERROR", colorError
		}
	}
	room := width - len(tail) - len(gap)
	if dec != "" {
		room -= 5 + len(gap)
	}
	line := p.bold(cut(b.header, max(room, 10))) + gap + p.dim(tail)
	if dec != "" {
		line = p.paint(color, pad(dec, 5)) + gap + line
	}
	return line
}

func severityText(f match.Scored) string {
	if f.Malicious {
		return SeverityLabel(f)
	}
	if f.Severity.Score > 0 {
		return fmt.Sprintf("%s %.1f", f.Severity.Rating, f.Severity.Score)
	}
	return string(f.Severity.Rating)
}

// idText is the representative ID and how many other IDs the group has,
// in the longest form that fits n columns: "ID +2 aliases", "ID +2", or
// the ID cut.
func idText(id string, aliases, n int) string {
	if aliases == 0 {
		return cut(id, n)
	}
	long := fmt.Sprintf("%s +%d aliases", id, aliases)
	if aliases == 1 {
		long = id + " +1 alias"
	}
	if runeLen(long) <= n {
		return long
	}
	if short := fmt.Sprintf("%s +%d", id, aliases); runeLen(short) <= n {
		return short
	}
	return cut(id, n)
}

// upgradeText says what to upgrade to (match.Advise): "to 1.10.0 (minor),
// fixing 2 findings; no fix known for CVE-..."; "" without advice.
func upgradeText(u *match.Upgrade) string {
	if u == nil || (u.Version == "" && len(u.Unfixed) == 0) {
		return ""
	}
	var t string
	if u.Version != "" {
		t = "to " + sanitize(u.Version)
		if u.Step != "" {
			t += " (" + u.Step + ")"
		}
		if len(u.Unfixed) > 0 {
			t += ", fixing " + plural(u.Fixes, "finding")
		}
	}
	if len(u.Unfixed) > 0 {
		if t != "" {
			t += "; "
		}
		t += "no fix known for " + sanitize(strings.Join(u.Unfixed, ", "))
	}
	return t
}

// exploitText says what is known of exploitation: "KEV" when the CISA
// catalogue lists the vulnerability, and the EPSS percentile.
func exploitText(f match.Scored) string {
	var parts []string
	if f.KEV != nil {
		parts = append(parts, "KEV")
	}
	if f.EPSS != nil {
		parts = append(parts, fmt.Sprintf("EPSS %d%%", int(math.Floor(f.EPSS.Percentile*100))))
	}
	return strings.Join(parts, " ")
}

func fixedText(fixed []string) string {
	if len(fixed) == 0 {
		return "-"
	}
	return sanitize(strings.Join(fixed, ", "))
}

// verdictLabel shows a finding's assessment: its type (with the ID it
// was recorded against when that is an alias, the scope when not global,
// and "auto" for rules), "Unassessed", or the built-in malware block.
func verdictLabel(v assess.Verdict) string {
	if v.Malicious {
		return assess.LabelMalicious
	}
	a := v.Assessment
	if a == nil {
		return "Unassessed"
	}
	label := a.Type
	var notes []string
	if a.VulnID != v.Finding.ID {
		notes = append(notes, "as "+a.VulnID)
	}
	if a.Scope != assess.Global {
		notes = append(notes, a.Scope)
	}
	if a.Auto {
		notes = append(notes, "auto")
	}
	if a.MalwareOverride {
		notes = append(notes, "malware override")
	}
	if len(notes) > 0 {
		label += " (" + strings.Join(notes, ", ") + ")"
	}
	return label
}

// columns are the widths of a table's finding columns.
type columns struct {
	sev, id, assess, fixed, exploit, summary int
}

func columnWidths(blocks []tableBlock, width int, assessed bool) columns {
	c := columns{sev: len("SEVERITY"), id: len("VULNERABILITY"), fixed: len("FIXED IN")}
	if assessed {
		c.assess = len("ASSESSMENT")
	}
	compactID := c.id // the widest "ID +N" form
	for _, b := range blocks {
		for _, r := range b.rows {
			if r.exploit != "" {
				c.exploit = max(c.exploit, len("EXPLOIT"), runeLen(r.exploit))
			}
			c.sev = max(c.sev, runeLen(r.sev))
			c.id = max(c.id, min(runeLen(idText(r.id, r.aliases, maxIDWidth)), maxIDWidth))
			compactID = max(compactID, min(runeLen(idText(r.id, r.aliases, runeLen(r.id)+4)), maxIDWidth))
			if assessed {
				c.assess = max(c.assess, min(runeLen(r.assess), maxAssessWidth))
			}
			c.fixed = max(c.fixed, min(runeLen(r.fixed), maxFixedWidth))
		}
	}
	used := func() int {
		u := len(indent) + c.sev + len(gap) + c.id + len(gap) + c.fixed
		if assessed {
			u += len(gap) + c.assess
		}
		if c.exploit > 0 {
			u += len(gap) + c.exploit
		}
		return u
	}
	shrink := func(col *int, floor, need int) int {
		take := min(need, max(*col-floor, 0))
		*col -= take
		return need - take
	}
	// Give the summary room to be read: shrink the fixed versions, then
	// the ID (to "ID +N"); a summary narrower than minSummary is left out,
	// and only then do the assessment and the rest shrink to fit.
	if need := used() + len(gap) + wantSummary - width; need > 0 {
		need = shrink(&c.fixed, minFixedWidth, need)
		shrink(&c.id, compactID, need)
	}
	c.summary = width - used() - len(gap)
	if c.summary < minSummary {
		c.summary = 0
		if need := used() - width; need > 0 {
			if assessed {
				need = shrink(&c.assess, minAssessWidth, need)
			}
			need = shrink(&c.id, 14, need)
			need = shrink(&c.fixed, 4, need)
			if assessed {
				shrink(&c.assess, 6, need)
			}
		}
	}
	return c
}

func (c columns) header(assessed bool) string {
	return c.row(&painter{}, tableRow{sev: "SEVERITY", id: "VULNERABILITY", exploit: "EXPLOIT", assess: "ASSESSMENT", fixed: "FIXED IN", summary: "SUMMARY"}, assessed)
}

func (c columns) row(p *painter, r tableRow, assessed bool) string {
	var b strings.Builder
	b.WriteString(indent)
	b.WriteString(p.paint(ratingColor(severity.Rating(r.rating)), pad(r.sev, c.sev)))
	b.WriteString(gap)
	b.WriteString(pad(idText(r.id, r.aliases, c.id), c.id))
	if c.exploit > 0 {
		b.WriteString(gap)
		color := ""
		if strings.HasPrefix(r.exploit, "KEV") {
			color = colorCritical
		}
		b.WriteString(p.paint(color, pad(cut(r.exploit, c.exploit), c.exploit)))
	}
	if assessed {
		b.WriteString(gap)
		b.WriteString(pad(cut(r.assess, c.assess), c.assess))
	}
	b.WriteString(gap)
	b.WriteString(pad(cut(r.fixed, c.fixed), c.fixed))
	if c.summary > 0 && r.summary != "" {
		b.WriteString(gap)
		b.WriteString(cut(r.summary, c.summary))
	}
	return strings.TrimRight(b.String(), " ")
}

func orInput(name, input string) string {
	if name != "" {
		return name
	}
	return input
}

// textWriter writes lines and keeps the first error.
type textWriter struct {
	w   io.Writer
	err error
}

func (t *textWriter) line(s string) {
	if t.err == nil {
		_, t.err = io.WriteString(t.w, s+"\n")
	}
}
