package project

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/inventory"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/purl"
	"github.com/vulngate/vulngate/internal/sbom"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/store"
)

// ReadComponents reads an uploaded file through internal/inventory, the
// reader every input of vulngate shares: SBOMs (CycloneDX JSON/XML, SPDX,
// PURL lists), lockfiles, manifests and OS package databases, recognised
// by name then content. name is the file name, for messages and format
// hints; format is the kind read. It is the one place uploads read input;
// third-party parsers run under inventory's panic guards.
func ReadComponents(data []byte, name string) (comps []sbom.Component, format string, err error) {
	res, err := inventory.ReadBytes(context.Background(), name, data, inventory.Options{})
	if err != nil {
		return nil, "", err
	}
	for _, c := range res.Components {
		comps = append(comps, sbom.Component{Name: c.Name, Version: c.Version, PURL: c.PURL, BOMRef: c.BOMRef, Path: c.Path, Line: c.Line, Err: c.Err})
	}
	if len(res.Files) > 0 {
		format = string(res.Files[0].Kind)
	}
	return comps, format, nil
}

// UploadRequest is one SBOM upload.
type UploadRequest struct {
	Project  string
	Version  string
	FileName string // the uploaded file's name (format hints, messages)
	Body     io.Reader
	By       string
	// Description and Tags apply when the upload creates the project.
	Description string
	Tags        []string
}

// UploadResult says what an upload stored.
type UploadResult struct {
	Project    string `json:"project"`
	Version    string `json:"version"`
	Format     string `json:"format"`
	Components int    `json:"components"`
	WithErrors int    `json:"components_with_errors"`
	Vulnerable int    `json:"vulnerable"`
	Findings   int    `json:"findings"`
	// New counts findings seen for the first time in the project.
	New int `json:"new_findings"`
}

// Upload reads an SBOM, scans its components, and stores them as the
// version's content (replacing an earlier upload of the same version, in
// one transaction), creating the project when needed. Findings are then
// recorded in the project's scope, where new ones are auto-assessed. Bad
// input changes nothing.
func (s *Service) Upload(ctx context.Context, req UploadRequest) (UploadResult, error) {
	if err := ValidateName(req.Project); err != nil {
		return UploadResult{}, err
	}
	if err := ValidateVersion(req.Version); err != nil {
		return UploadResult{}, err
	}
	tags, err := CleanTags(req.Tags)
	if err != nil {
		return UploadResult{}, err
	}
	label := req.FileName
	if label == "" {
		label = "upload"
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, sbom.MaxSize+1))
	if err != nil {
		return UploadResult{}, fmt.Errorf("%s: %w", label, err)
	}
	if len(data) > sbom.MaxSize {
		return UploadResult{}, fmt.Errorf("%s: larger than the %d MiB limit for SBOMs: %w", label, sbom.MaxSize>>20, ErrInvalid)
	}
	comps, format, err := ReadComponents(data, label)
	if err != nil {
		return UploadResult{}, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	if len(comps) == 0 {
		return UploadResult{}, fmt.Errorf("%s: no components: %w", label, ErrInvalid)
	}
	paths := dependencyPaths(data)
	mcs := make([]match.Component, len(comps))
	for i, c := range comps {
		p := c.Path
		if dp, ok := paths[c.BOMRef]; ok && c.BOMRef != "" {
			p = dp
		}
		mcs[i] = match.Component{Input: c.PURL, Name: c.Name, Version: c.Version, BOMRef: c.BOMRef, Path: p, InputError: c.Err}
	}
	sc, err := s.scan(ctx)
	if err != nil {
		return UploadResult{}, err
	}
	results, err := sc.Scan(ctx, mcs)
	if err != nil {
		return UploadResult{}, err
	}
	now := s.now().UTC()
	firstSeen := map[string]store.ProjectFinding{}
	if old, err := s.st.ProjectVersion(ctx, req.Project, req.Version); err == nil {
		cs, err := s.st.VersionComponents(ctx, old.ID, false)
		if err != nil {
			return UploadResult{}, err
		}
		for _, c := range cs {
			for _, f := range c.Findings {
				firstSeen[c.PURL+"\x00"+f.VulnID] = f
			}
		}
	}
	up := store.VersionUpload{Project: store.Project{Name: req.Project, Description: strings.TrimSpace(req.Description), Tags: tags},
		Version: req.Version, Format: format, FileName: baseName(req.FileName), UploadedBy: req.By}
	res := UploadResult{Project: req.Project, Version: req.Version, Format: format, Components: len(results)}
	for _, r := range results {
		c := componentOf(r)
		for _, f := range r.Findings {
			pf := findingOf(f, now)
			if old, ok := firstSeen[c.PURL+"\x00"+pf.VulnID]; ok {
				pf.FirstSeen = old.FirstSeen
			}
			c.Findings = append(c.Findings, pf)
		}
		if len(r.Errors) > 0 {
			res.WithErrors++
		}
		if len(r.Findings) > 0 {
			res.Vulnerable++
			res.Findings += len(r.Findings)
		}
		up.Components = append(up.Components, c)
	}
	if _, err := s.st.ReplaceProjectVersion(ctx, up, now); err != nil {
		return UploadResult{}, err
	}
	rep, err := s.as.RecordScanWith(ctx, Scope(req.Project), results, assess.RecordOptions{AutoInScope: true})
	if err != nil {
		return res, fmt.Errorf("the version is stored, but recording its findings failed: %w", err)
	}
	res.New = rep.New
	if err := s.closeGone(ctx, req.Project); err != nil {
		return res, err
	}
	s.log.Info("project version uploaded", "project", req.Project, "version", req.Version, "format", format, "components", res.Components, "findings", res.Findings, "new", res.New)
	return res, nil
}

func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if len(name) > 200 {
		name = name[:200]
	}
	return name
}

// componentOf converts a scan result (without findings).
func componentOf(r match.ComponentResult) store.ProjectComponent {
	c := store.ProjectComponent{PURL: r.Input, Name: r.Name, Version: r.Version, BOMRef: r.BOMRef, Path: r.Path, Errors: r.Errors}
	if r.Package.Ecosystem != "" {
		base := osv.BaseEcosystem(r.Package.Ecosystem)
		c.Ecosystem, c.PkgName = base, purl.NormalizeName(base, r.Package.Name)
	}
	return c
}

// findingOf converts a scored finding, first and last seen now.
func findingOf(f match.Scored, now time.Time) store.ProjectFinding {
	score := -1
	if f.Severity.Score > 0 {
		score = int(math.Round(f.Severity.Score * 10))
	}
	return store.ProjectFinding{VulnID: f.ID, IDs: f.IDs, Rating: string(f.Severity.Rating), Score: score, Summary: f.Summary,
		Sources: f.Sources, Fixed: f.Fixed, Malicious: f.Malicious, FirstSeen: now, LastSeen: now}
}

// storedScore turns a stored finding's rating and score back into a score.
func storedScore(f store.ProjectFinding) severity.Score {
	if f.Score < 0 {
		return severity.Score{Rating: severity.Rating(f.Rating)}
	}
	return severity.Score{Score: float64(f.Score) / 10, Rating: severity.Rating(f.Rating), Type: "stored"}
}

// closeGone closes the findings recorded in the project's scope for
// packages that no version of the project holds any more.
func (s *Service) closeGone(ctx context.Context, name string) error {
	open, err := s.as.OpenFindings(ctx, Scope(name))
	if err != nil || len(open) == 0 {
		return err
	}
	vs, err := s.st.ProjectVersions(ctx, name)
	if err != nil {
		return err
	}
	held := map[string]bool{}
	for _, v := range vs {
		cs, err := s.st.VersionComponents(ctx, v.ID, false)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if p, err := purl.Parse(c.PURL); err == nil {
				held[p.PURL] = true
			}
		}
	}
	var gone []match.ComponentResult
	seen := map[string]bool{}
	for _, f := range open {
		if held[f.PURL] || seen[f.PURL] {
			continue
		}
		seen[f.PURL] = true
		gone = append(gone, match.ComponentResult{Package: purl.Package{PURL: f.PURL, Ecosystem: f.Ecosystem, Name: f.Name, Version: f.Version}})
	}
	if len(gone) == 0 {
		return nil
	}
	_, err = s.as.RecordScanWith(ctx, Scope(name), gone, assess.RecordOptions{AutoInScope: true})
	return err
}
