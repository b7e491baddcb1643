// Package project implements projects and the portfolio, in the manner of
// Dependency-Track: a project (name, description, tags) has versions; a
// version holds the components of the SBOM uploaded for it (read through
// internal/sbom, with each component's dependency path) and their
// findings. Uploading a version again replaces its components in one
// transaction. After each mirror run and OSS Index refresh, Analyze
// re-evaluates only the components whose packages the store's change
// journal names, records new findings, closes the ones that disappeared
// with the reason, and records them in the project's assessment scope
// ("project:NAME", auto-assessment in that scope). The portfolio computes
// counts per project (severity, malicious, unassessed, blocked) and keeps
// daily snapshots; versions can be compared and exported (CSV, the scan
// JSON, SARIF, VEX).
//
// One Service is used by the CLI, the API and the UI alike; Client speaks
// the same operations to a remote server's API. It leaves out who may do
// what (the server's permissions), notifications (internal/notify, fed by
// the assessment service's new-finding hook) and rendering.
package project

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/lazyre"
	"github.com/vulngate/vulngate/internal/match"
	"github.com/vulngate/vulngate/internal/osv"
	"github.com/vulngate/vulngate/internal/store"
)

// Options configures a Service.
type Options struct {
	Store  *store.Store
	Assess *assess.Service // default assess.New(Store)
	// Scanner returns the scanner for uploads and analyses (the store,
	// plus OSS Index when configured); nil scans the store only.
	Scanner func(ctx context.Context) (*match.Scanner, error)
	Logger  *slog.Logger
	Now     func() time.Time
}

// Service manages projects. It is safe for concurrent use.
type Service struct {
	st   *store.Store
	as   *assess.Service
	scan func(ctx context.Context) (*match.Scanner, error)
	log  *slog.Logger
	now  func() time.Time
	// analyzing serializes Analyze in this process (a lease does across
	// processes).
	analyzing sync.Mutex
}

// New returns a service.
func New(o Options) *Service {
	s := &Service{st: o.Store, as: o.Assess, scan: o.Scanner, log: o.Logger, now: o.Now}
	if s.as == nil {
		s.as = assess.New(o.Store)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.scan == nil {
		s.scan = func(context.Context) (*match.Scanner, error) { return match.NewScanner(o.Store, nil), nil }
	}
	return s
}

// ErrInvalid marks validation errors: the store's shared sentinel, which
// the server maps to a client error.
var ErrInvalid = store.ErrInvalid

var (
	nameRE    = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	versionRE = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9._+~-]{0,99}$`)
	tagRE     = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$`)
)

// ValidateName checks a project name: 1-100 letters, digits, '.', '_' or
// '-', starting with a letter or digit (it is also a grant scope).
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("project name %q: want 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit: %w", name, ErrInvalid)
	}
	return nil
}

// ValidateVersion checks a version label: 1-100 letters, digits, '.', '_',
// '+', '~' or '-', starting with a letter or digit.
func ValidateVersion(v string) error {
	if !versionRE.MatchString(v) {
		return fmt.Errorf("version %q: want 1-100 letters, digits, '.', '_', '+', '~' or '-', starting with a letter or digit: %w", v, ErrInvalid)
	}
	return nil
}

// CleanTags trims, validates, de-duplicates and sorts tags.
func CleanTags(tags []string) ([]string, error) {
	out := []string{}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if !tagRE.MatchString(t) {
			return nil, fmt.Errorf("tag %q: want 1-50 letters, digits, '.', '_' or '-': %w", t, ErrInvalid)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > 20 {
		return nil, fmt.Errorf("%d tags: at most 20: %w", len(out), ErrInvalid)
	}
	slices.Sort(out)
	return out, nil
}

// Scope is the assessment scope of a project.
func Scope(name string) string { return store.ProjectScope(name) }

// Project is a project with its versions.
type Project struct {
	store.Project
	Versions []store.ProjectVersion // newest upload first
}

// Create adds an empty project.
func (s *Service) Create(ctx context.Context, name, description string, tags []string) (Project, error) {
	if err := ValidateName(name); err != nil {
		return Project{}, err
	}
	tags, err := CleanTags(tags)
	if err != nil {
		return Project{}, err
	}
	if err := s.st.CreateProject(ctx, store.Project{Name: name, Description: strings.TrimSpace(description), Tags: tags}, s.now()); err != nil {
		return Project{}, err
	}
	return s.Get(ctx, name)
}

// Update changes a project's description and tags (nil: keep).
func (s *Service) Update(ctx context.Context, name string, description *string, tags *[]string) (Project, error) {
	var ts []string
	if tags != nil {
		var err error
		if ts, err = CleanTags(*tags); err != nil {
			return Project{}, err
		}
	}
	if description != nil {
		d := strings.TrimSpace(*description)
		description = &d
	}
	if err := s.st.UpdateProject(ctx, name, description, ts, s.now()); err != nil {
		return Project{}, err
	}
	return s.Get(ctx, name)
}

// Get returns a project with its versions.
func (s *Service) Get(ctx context.Context, name string) (Project, error) {
	p, err := s.st.ProjectByName(ctx, name)
	if err != nil {
		return Project{}, err
	}
	vs, err := s.st.ProjectVersions(ctx, name)
	if err != nil {
		return Project{}, err
	}
	return Project{Project: p, Versions: vs}, nil
}

// Delete removes a project, its versions, components and findings, the
// findings recorded in its scope and the grants of its scope. Assessments
// made in its scope stay (with their history), as for feeds.
func (s *Service) Delete(ctx context.Context, name string) error {
	return s.st.DeleteProject(ctx, name)
}

// DeleteVersion removes one version, then closes the findings recorded in
// the project's scope for packages no other version holds.
func (s *Service) DeleteVersion(ctx context.Context, name, version string) error {
	if err := s.st.DeleteProjectVersion(ctx, name, version); err != nil {
		return err
	}
	return s.closeGone(ctx, name)
}

// StoreScanner scans against the store's mirrored advisories only;
// components of ecosystems nothing is mirrored for get an error (never a
// silent clean result).
func StoreScanner(st *store.Store) func(ctx context.Context) (*match.Scanner, error) {
	return func(ctx context.Context) (*match.Scanner, error) {
		parts, err := st.Partitions(ctx)
		if err != nil {
			return nil, err
		}
		covered := map[string]bool{}
		for _, p := range parts {
			covered[osv.BaseEcosystem(p.Name)] = true
		}
		return match.NewScanner(st, func(eco string) bool { return covered[eco] }), nil
	}
}
