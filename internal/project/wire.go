package project

import (
	"context"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

// The JSON shapes of the API (/api/v1/projects...), shared by the server
// and Client so that the CLI prints the same whether it works on a local
// data directory or a remote server.

// VersionInfo describes one version of a project.
type VersionInfo struct {
	Version    string    `json:"version"`
	Format     string    `json:"format"`
	FileName   string    `json:"file_name"`
	UploadedBy string    `json:"uploaded_by"`
	Uploaded   time.Time `json:"uploaded"`
	Analyzed   time.Time `json:"analyzed"`
	Components int       `json:"components"`
}

// ProjectReport is a project with its versions and who may upload and
// assess for it (the holders of the grants of its scope itself).
type ProjectReport struct {
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Tags        []string      `json:"tags"`
	Created     time.Time     `json:"created"`
	Updated     time.Time     `json:"updated"`
	Versions    []VersionInfo `json:"versions"`
	Uploaders   []string      `json:"uploaders"`
	Assessors   []string      `json:"assessors"`
}

// FindingReport is one finding of a component with its assessment in the
// project's scope.
type FindingReport struct {
	ID         string    `json:"id"`
	IDs        []string  `json:"ids"`
	Rating     string    `json:"rating"`
	Score      *float64  `json:"score"`
	Summary    string    `json:"summary"`
	Fixed      []string  `json:"fixed_versions"`
	Sources    []string  `json:"sources"`
	Malicious  bool      `json:"malicious"`
	Assessment string    `json:"assessment"` // type name or "Unassessed"
	Scope      string    `json:"assessment_scope,omitempty"`
	Effect     string    `json:"effect"`
	FirstSeen  time.Time `json:"first_seen"`
}

// ComponentReport is one component with its findings and decision.
type ComponentReport struct {
	Name     string          `json:"name"`
	Version  string          `json:"version"`
	PURL     string          `json:"purl"`
	Path     []string        `json:"dependency_path"`
	Errors   []string        `json:"errors"`
	Decision string          `json:"decision"`
	Message  string          `json:"decision_message"`
	Findings []FindingReport `json:"findings"`
}

// VersionReport is a version with its components.
type VersionReport struct {
	Project string `json:"project"`
	VersionInfo
	Counts     Counts            `json:"counts"`
	Components []ComponentReport `json:"components"`
}

func versionInfo(v store.ProjectVersion) VersionInfo {
	return VersionInfo{Version: v.Version, Format: v.Format, FileName: v.FileName, UploadedBy: v.UploadedBy, Uploaded: v.Uploaded, Analyzed: v.Analyzed, Components: v.Components}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Report returns a project with its versions and grant holders.
func (s *Service) Report(ctx context.Context, name string) (ProjectReport, error) {
	p, err := s.Get(ctx, name)
	if err != nil {
		return ProjectReport{}, err
	}
	out := ProjectReport{Name: p.Name, Description: p.Description, Tags: nonNil(p.Tags), Created: p.Created, Updated: p.Updated, Versions: []VersionInfo{}}
	for _, v := range p.Versions {
		out.Versions = append(out.Versions, versionInfo(v))
	}
	if out.Uploaders, err = s.st.GrantHolders(ctx, PermUpload, Scope(name)); err != nil {
		return out, err
	}
	out.Assessors, err = s.st.GrantHolders(ctx, PermAssess, Scope(name))
	return out, err
}

// Grant permissions of a project's scope (the same names internal/auth
// checks).
const (
	PermUpload = "upload"
	PermAssess = "assess"
)

// SetGrantHolders makes exactly users hold perm for the project's scope.
func (s *Service) SetGrantHolders(ctx context.Context, name, perm string, users []string) error {
	if _, err := s.st.ProjectByName(ctx, name); err != nil {
		return err
	}
	return s.st.SetGrantHolders(ctx, perm, Scope(name), users)
}

// VersionReport returns a version's components (only those with findings
// or errors when onlyVulnerable) with findings, assessments and decisions.
func (s *Service) VersionReport(ctx context.Context, name, version string, onlyVulnerable bool) (VersionReport, error) {
	v, err := s.Version(ctx, name, version, onlyVulnerable)
	if err != nil {
		return VersionReport{}, err
	}
	out := VersionReport{Project: name, VersionInfo: versionInfo(v.Version), Counts: v.Counts, Components: []ComponentReport{}}
	for _, c := range v.Components {
		cr := ComponentReport{Name: c.Name, Version: c.Version, PURL: c.PURL, Path: nonNil(c.Path), Errors: nonNil(c.Errors),
			Decision: string(c.Decision.Effect), Message: c.Decision.Message(), Findings: []FindingReport{}}
		for i, f := range c.Findings {
			fr := FindingReport{ID: f.VulnID, IDs: nonNil(f.IDs), Rating: f.Rating, Summary: f.Summary, Fixed: nonNil(f.Fixed), Sources: nonNil(f.Sources),
				Malicious: f.Malicious, Assessment: "Unassessed", FirstSeen: f.FirstSeen}
			if f.Score >= 0 {
				sc := float64(f.Score) / 10
				fr.Score = &sc
			}
			if i < len(c.Verdicts) {
				vd := c.Verdicts[i]
				fr.Assessment, fr.Effect = vd.Label(), string(vd.Effect)
				if vd.Assessment != nil {
					fr.Scope = vd.Assessment.Scope
				}
			}
			cr.Findings = append(cr.Findings, fr)
		}
		out.Components = append(out.Components, cr)
	}
	return out, nil
}
