package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/vex"
)

// vexRoutes: assessments exported and imported as VEX documents.
func (s *Server) vexRoutes() []route {
	return []route{
		s.api("GET /api/v1/vex", auth.Viewer, s.apiVEXExport),
		s.api("POST /api/v1/vex", "", s.apiVEXImport).assessing(),
	}
}

func (s *Server) apiVEXExport(r *http.Request) (any, error) {
	q := r.URL.Query()
	fv := q.Get("format")
	if fv == "" {
		fv = string(vex.CycloneDX)
	}
	f, err := vex.ParseFormat(fv)
	if err != nil {
		return nil, errStatus(http.StatusBadRequest, "format: %v", err)
	}
	scope := ""
	if v := strings.TrimSpace(q.Get("scope")); v != "" {
		if scope, err = assess.ParseScope(v); err != nil {
			return nil, errStatus(http.StatusBadRequest, "scope: %v", err)
		}
	}
	var buf bytes.Buffer
	if err := vex.ExportFrom(r.Context(), s.assess, &buf, vex.ExportOptions{Format: f, Scope: scope, Author: "vulngate " + s.opts.Version}); err != nil {
		return nil, err
	}
	ct, ext := "application/vnd.cyclonedx+json", "cdx.json"
	if f == vex.OpenVEX {
		ct, ext = "application/json", "openvex.json"
	}
	return answer{raw: buf.Bytes(), contentType: ct, header: http.Header{
		"Cache-Control":       {"no-store"},
		"Content-Disposition": {fmt.Sprintf(`attachment; filename="vulngate-vex.%s"`, ext)},
	}}, nil
}

type vexImportJSON struct {
	Format      string           `json:"format"`
	Imported    int              `json:"imported"`
	Skipped     int              `json:"skipped"`
	Assessments []assessmentJSON `json:"assessments"`
}

// importVEX checks that the caller may assess every scope the document
// assesses in (after the scope override), then imports it, all or nothing.
func (s *Server) importVEX(r *http.Request, body io.Reader, scope string) (vexImportJSON, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return vexImportJSON{}, errStatus(http.StatusBadRequest, "request body: %v", err)
	}
	if scope != "" {
		if scope, err = assess.ParseScope(scope); err != nil {
			return vexImportJSON{}, errStatus(http.StatusBadRequest, "scope: %v", err)
		}
	}
	p := principal(r)
	if scope != "" && !p.CanAssess(scope) {
		return vexImportJSON{}, errStatus(http.StatusForbidden, "you may not assess in scope %s: this needs the admin role or an assess grant for that scope", scope)
	}
	if !mayAssessSomewhere(p) {
		return vexImportJSON{}, errStatus(http.StatusForbidden, "you may not assess: this needs the admin role or an assess grant")
	}
	_, as, _, err := vex.Parse(bytes.NewReader(data), "request body")
	if err != nil {
		return vexImportJSON{}, errStatus(http.StatusUnprocessableEntity, "%v", err)
	}
	for _, a := range as {
		sc := a.Scope
		if scope != "" && (sc == "" || sc == assess.Global) {
			sc = scope
		}
		if sc == "" {
			sc = assess.Global
		}
		if !p.CanAssess(sc) {
			return vexImportJSON{}, errStatus(http.StatusForbidden, "the document assesses %s in scope %s, where you may not assess; nothing was imported", a.VulnID, sc)
		}
	}
	res, err := vex.ImportInto(r.Context(), s.assess, bytes.NewReader(data), "request body", scope, p.Username)
	if err != nil {
		return vexImportJSON{}, err
	}
	s.log.Info("VEX imported", "by", p.Username, "format", res.Format, "imported", len(res.Imported), "skipped", res.Skipped)
	return vexImportJSON{Format: string(res.Format), Imported: len(res.Imported), Skipped: res.Skipped, Assessments: assessmentsOut(res.Imported)}, nil
}

func (s *Server) apiVEXImport(r *http.Request) (any, error) {
	return s.importVEX(r, r.Body, r.URL.Query().Get("scope"))
}
