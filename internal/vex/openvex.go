package vex

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/vulngate/vulngate/internal/assess"
)

// OpenVEXContext is the @context of OpenVEX v0.2.0 documents.
const OpenVEXContext = "https://openvex.dev/ns/v0.2.0"

// OpenVEX v0.2.0 document, as plain structs (only the fields vulngate
// reads and writes).
type openVEXDoc struct {
	Context    string             `json:"@context"`
	ID         string             `json:"@id"`
	Author     string             `json:"author"`
	Role       string             `json:"role,omitempty"`
	Timestamp  string             `json:"timestamp"`
	Version    int                `json:"version"`
	Tooling    string             `json:"tooling,omitempty"`
	Statements []openVEXStatement `json:"statements"`
}

type openVEXStatement struct {
	Vulnerability   openVEXVuln      `json:"vulnerability"`
	Timestamp       string           `json:"timestamp,omitempty"`
	Products        []openVEXProduct `json:"products,omitempty"`
	Status          string           `json:"status"`
	StatusNotes     string           `json:"status_notes,omitempty"`
	Justification   string           `json:"justification,omitempty"`
	ImpactStatement string           `json:"impact_statement,omitempty"`
	ActionStatement string           `json:"action_statement,omitempty"`
}

type openVEXVuln struct {
	ID      string   `json:"@id,omitempty"`
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
}

type openVEXProduct struct {
	ID string `json:"@id"`
}

// OpenVEX statuses and the justification vulngate writes for Ignore.
const (
	statusNotAffected        = "not_affected"
	statusAffected           = "affected"
	statusFixed              = "fixed"
	statusUnderInvestigation = "under_investigation"
	justificationIgnore      = "vulnerable_code_not_in_execute_path"
)

func writeOpenVEX(w io.Writer, in Input) error {
	author := in.Author
	if author == "" {
		author = "vulngate"
	}
	doc := openVEXDoc{Context: OpenVEXContext, ID: "urn:uuid:" + newUUID(), Author: author, Timestamp: fmtTimestamp(in.Time),
		Version: 1, Tooling: "vulngate", Statements: []openVEXStatement{}}
	for _, st := range statements(in) {
		s := openVEXStatement{Vulnerability: openVEXVuln{Name: st.vuln}}
		for _, p := range st.products {
			s.Products = append(s.Products, openVEXProduct{ID: p})
		}
		if st.a == nil {
			s.Status = statusUnderInvestigation
			s.StatusNotes = "unassessed in vulngate"
			doc.Statements = append(doc.Statements, s)
			continue
		}
		a := st.a
		s.Timestamp = fmtTimestamp(a.At)
		s.StatusNotes = metaOf(a).encode()
		switch a.Effect {
		case assess.Allow:
			s.Status = statusNotAffected
			s.Justification = justificationIgnore
			s.ImpactStatement = orDefault(a.Comment, "Assessed "+a.Type+" in vulngate")
		case assess.Warn:
			s.Status = statusAffected
			s.ActionStatement = strings.TrimSpace(a.Type + actionCaution + a.Comment)
		default:
			s.Status = statusAffected
			s.ActionStatement = strings.TrimSpace(a.Type + actionBlock + a.Comment)
		}
		doc.Statements = append(doc.Statements, s)
	}
	return encodeJSON(w, doc)
}

// Action statements vulngate writes, after the type name.
const (
	actionCaution = ": use with care. "
	actionBlock   = ": do not use; upgrade to a fixed version. "
)

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func readOpenVEX(data []byte) ([]assess.Assessment, int, error) {
	var doc openVEXDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, 0, fmt.Errorf("malformed OpenVEX document: %w", err)
	}
	if doc.Statements == nil {
		return nil, 0, fmt.Errorf("OpenVEX document has no statements[]")
	}
	var out []assess.Assessment
	skipped := 0
	for i, s := range doc.Statements {
		where := fmt.Sprintf("statements[%d]", i)
		if s.Vulnerability.Name == "" {
			return nil, 0, fmt.Errorf("%s: %w (vulnerability.name)", where, errNoVuln)
		}
		where += " (" + s.Vulnerability.Name + ")"
		a := assess.Assessment{VulnID: s.Vulnerability.Name, Scope: assess.Global}
		switch s.Status {
		case statusUnderInvestigation:
			skipped++
			continue
		case statusNotAffected, statusFixed:
			a.Type = assess.Ignore
			a.Comment = s.ImpactStatement
		case statusAffected:
			a.Type = assess.Blocked
			a.Comment = s.ActionStatement
		default:
			return nil, 0, fmt.Errorf("%s: unknown status %q (want not_affected, affected, fixed or under_investigation)", where, s.Status)
		}
		var err error
		if a.At, err = parseTimestamp(firstNonEmpty(s.Timestamp, doc.Timestamp)); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", where, err)
		}
		m, ok, err := decodeMeta(s.StatusNotes)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", where, err)
		}
		if ok {
			m.apply(&a)
			a.Comment = commentFromStatement(s, a.Type)
		} else {
			a.By = doc.Author
		}
		out = append(out, a)
	}
	return out, skipped, nil
}

// commentFromStatement recovers the comment vulngate wrote into a
// statement it exported.
func commentFromStatement(s openVEXStatement, typ string) string {
	switch s.Status {
	case statusAffected:
		for _, p := range []string{actionCaution, actionBlock} {
			if rest, ok := strings.CutPrefix(s.ActionStatement, strings.TrimSpace(typ+p)); ok {
				return strings.TrimSpace(rest)
			}
		}
		return s.ActionStatement
	default:
		if s.ImpactStatement == "Assessed "+typ+" in vulngate" {
			return ""
		}
		return s.ImpactStatement
	}
}
