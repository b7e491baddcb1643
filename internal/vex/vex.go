// Package vex implements export and import of vulngate assessments as VEX
// documents: CycloneDX VEX (JSON, spec 1.5 or 1.6: vulnerabilities[] with
// analysis.state/justification/response/detail) and OpenVEX v0.2.0 JSON.
// The mapping between assessment types and VEX statuses is documented in
// docs/vex.md; vulngate's own details (exact type, scope, author, expiry)
// travel in CycloneDX properties and in OpenVEX status_notes so that an
// export imports back into the same assessments.
//
// It leaves out CycloneDX XML, CSAF VEX, signing, and VEX documents that
// describe products other than by package URL.
package vex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/store"
)

// Format names a VEX format.
type Format string

// Formats.
const (
	CycloneDX Format = "cyclonedx"
	OpenVEX   Format = "openvex"
)

// ParseFormat validates a --format value.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "cyclonedx", "cdx":
		return CycloneDX, nil
	case "openvex":
		return OpenVEX, nil
	}
	return "", fmt.Errorf("unknown VEX format %q (want cyclonedx or openvex)", s)
}

// Input is what an export describes.
type Input struct {
	// Assessments to export (current, non-expired).
	Assessments []assess.Assessment
	// Findings are recorded open findings: their package URLs become the
	// products of the assessments that cover them, and those without an
	// assessment are exported as under investigation.
	Findings []store.StoredFinding
	Author   string
	Time     time.Time
	// SpecVersion is the CycloneDX version, "1.5" or "1.6" (default 1.6).
	SpecVersion string
}

// statement is the format-neutral form of one VEX statement.
type statement struct {
	vuln     string
	products []string
	a        *assess.Assessment // nil: unassessed (under investigation)
}

// statements pairs assessments with the package URLs of the findings
// they cover, and lists unassessed findings.
func statements(in Input) []statement {
	var out []statement
	covered := map[int64]bool{}
	for i := range in.Assessments {
		a := &in.Assessments[i]
		st := statement{vuln: a.VulnID, a: a}
		for _, f := range in.Findings {
			if (a.Scope == assess.Global || a.Scope == f.Scope) && slices.Contains(f.IDs, a.VulnID) {
				covered[f.ID] = true
				if !slices.Contains(st.products, f.PURL) {
					st.products = append(st.products, f.PURL)
				}
			}
		}
		slices.Sort(st.products)
		out = append(out, st)
	}
	byVuln := map[string]int{}
	for _, f := range in.Findings {
		if covered[f.ID] {
			continue
		}
		i, ok := byVuln[f.VulnID]
		if !ok {
			i = len(out)
			byVuln[f.VulnID] = i
			out = append(out, statement{vuln: f.VulnID})
		}
		if !slices.Contains(out[i].products, f.PURL) {
			out[i].products = append(out[i].products, f.PURL)
		}
	}
	return out
}

// Export writes in as a VEX document in format f.
func Export(w io.Writer, f Format, in Input) error {
	if in.Time.IsZero() {
		in.Time = time.Now().UTC()
	}
	switch f {
	case CycloneDX:
		return writeCycloneDX(w, in)
	case OpenVEX:
		return writeOpenVEX(w, in)
	}
	return fmt.Errorf("unknown VEX format %q", f)
}

// maxDocument bounds a VEX document read by Parse.
const maxDocument = 64 << 20

// Parse reads a CycloneDX or OpenVEX JSON document (detected from its
// content) into assessments. Statements that assess nothing (under
// investigation / in triage) are counted in skipped. Malformed documents,
// unknown statuses and statements without a vulnerability are errors
// naming the statement.
func Parse(r io.Reader, name string) (f Format, as []assess.Assessment, skipped int, err error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDocument+1))
	if err != nil {
		return "", nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxDocument {
		return "", nil, 0, fmt.Errorf("%s: larger than %d bytes", name, maxDocument)
	}
	var probe struct {
		BOMFormat string `json:"bomFormat"`
		Context   string `json:"@context"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return "", nil, 0, fmt.Errorf("%s: not a JSON VEX document: %w", name, err)
	}
	switch {
	case probe.BOMFormat == "CycloneDX":
		as, skipped, err = readCycloneDX(data)
		f = CycloneDX
	case strings.Contains(probe.Context, "openvex"):
		as, skipped, err = readOpenVEX(data)
		f = OpenVEX
	default:
		return "", nil, 0, fmt.Errorf("%s: neither CycloneDX (bomFormat) nor OpenVEX (@context): not a VEX document vulngate reads", name)
	}
	if err != nil {
		return f, nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	return f, as, skipped, nil
}

// meta is vulngate's own data about an assessment, carried along so that
// an export imports back unchanged.
type meta struct {
	Type, Scope, By string
	Expires         time.Time
	Auto            bool
}

func metaOf(a *assess.Assessment) meta {
	return meta{Type: a.Type, Scope: a.Scope, By: a.By, Expires: a.Expires, Auto: a.Auto}
}

// notesPrefix starts OpenVEX status_notes that carry meta.
const notesPrefix = "vulngate:"

func (m meta) encode() string {
	v := url.Values{}
	v.Set("type", m.Type)
	v.Set("scope", m.Scope)
	if m.By != "" {
		v.Set("by", m.By)
	}
	if !m.Expires.IsZero() {
		v.Set("expires", m.Expires.UTC().Format(time.RFC3339Nano))
	}
	if m.Auto {
		v.Set("auto", "true")
	}
	return notesPrefix + v.Encode()
}

func decodeMeta(s string) (meta, bool, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), notesPrefix)
	if !ok {
		return meta{}, false, nil
	}
	v, err := url.ParseQuery(rest)
	if err != nil {
		return meta{}, false, fmt.Errorf("vulngate metadata %q: %w", s, err)
	}
	m := meta{Type: v.Get("type"), Scope: v.Get("scope"), By: v.Get("by"), Auto: v.Get("auto") == "true"}
	if e := v.Get("expires"); e != "" {
		if m.Expires, err = time.Parse(time.RFC3339Nano, e); err != nil {
			return meta{}, false, fmt.Errorf("vulngate metadata: expires %q: %w", e, err)
		}
	}
	return m, true, nil
}

func (m meta) apply(a *assess.Assessment) {
	if m.Type != "" {
		a.Type = m.Type
	}
	a.Scope, a.By, a.Expires, a.Auto = m.Scope, m.By, m.Expires, m.Auto
}

func parseTimestamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q is not RFC 3339", s)
	}
	return t.UTC(), nil
}

func fmtTimestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func encodeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

var errNoVuln = errors.New("no vulnerability ID")

// ExportOptions selects what ExportFrom writes.
type ExportOptions struct {
	Format Format
	// Scope limits the export to one scope's assessments and findings
	// ("" for all).
	Scope       string
	Author      string
	SpecVersion string // CycloneDX only
}

// ExportFrom exports the service's current assessments (and the recorded
// open findings, as products and as unassessed statements).
func ExportFrom(ctx context.Context, s *assess.Service, w io.Writer, o ExportOptions) error {
	as, err := s.List(ctx, assess.ListFilter{Scope: o.Scope})
	if err != nil {
		return err
	}
	fs, err := s.OpenFindings(ctx, o.Scope)
	if err != nil {
		return err
	}
	return Export(w, o.Format, Input{Assessments: as, Findings: fs, Author: o.Author, Time: s.Now().UTC(), SpecVersion: o.SpecVersion})
}

// ImportResult says what ImportInto did.
type ImportResult struct {
	Format   Format
	Imported []assess.Assessment
	// Skipped counts statements that assess nothing (under
	// investigation) and assessments that had already expired.
	Skipped int
}

// ImportInto parses a VEX document and records its assessments, all or
// nothing. Errors in the document wrap store.ErrInvalid. scope, when not "", imports statements without a scope (or
// with the global one) into that scope instead.
func ImportInto(ctx context.Context, s *assess.Service, r io.Reader, name, scope, actor string) (ImportResult, error) {
	f, as, skipped, err := Parse(r, name)
	if err != nil {
		return ImportResult{}, store.Invalid(err)
	}
	if scope != "" {
		sc, err := assess.ParseScope(scope)
		if err != nil {
			return ImportResult{}, store.Invalid(err)
		}
		for i := range as {
			if as[i].Scope == "" || as[i].Scope == assess.Global {
				as[i].Scope = sc
			}
		}
	}
	imported, expired, err := s.Import(ctx, as, actor)
	if err != nil {
		return ImportResult{}, fmt.Errorf("%s: %w", name, err)
	}
	return ImportResult{Format: f, Imported: imported, Skipped: skipped + len(expired)}, nil
}
