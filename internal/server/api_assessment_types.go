package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
)

// assessmentTypeRoutes: the assessment types (built-in and custom).
func (s *Server) assessmentTypeRoutes() []route {
	return []route{
		s.api("GET /api/v1/assessment-types", auth.Viewer, s.apiTypes),
		s.api("POST /api/v1/assessment-types", auth.Admin, s.apiCreateType),
		s.api("PUT /api/v1/assessment-types/{name}", auth.Admin, s.apiUpdateType),
		s.api("DELETE /api/v1/assessment-types/{name}", auth.Admin, s.apiDeleteType),
	}
}

type typeJSON struct {
	Name        string `json:"name"`
	Effect      string `json:"effect"`
	Builtin     bool   `json:"builtin"`
	AutoRange   string `json:"auto_range"` // "7.0-8.9", "" when not auto-assessing
	Expiry      string `json:"expiry"`     // "30d", "never"
	Description string `json:"description"`
}

func typeOut(t assess.Type) typeJSON {
	o := typeJSON{Name: t.Name, Effect: string(t.Effect), Builtin: t.Builtin, Expiry: "never", Description: t.Description}
	if t.Auto != nil {
		o.AutoRange = t.Auto.String()
	}
	if t.Expiry > 0 {
		o.Expiry = assess.FormatDuration(t.Expiry)
	}
	return o
}

func typesOut(ts []assess.Type) []typeJSON {
	out := make([]typeJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, typeOut(t))
	}
	return out
}

// typeIn validates a type from its JSON (or form) fields.
func typeIn(name, effect, autoRange, expiry, desc string) (assess.Type, error) {
	t := assess.Type{Name: strings.TrimSpace(name), Description: strings.TrimSpace(desc)}
	e, err := assess.ParseEffect(strings.TrimSpace(effect))
	if err != nil {
		return t, store.Invalid(fmt.Errorf("effect: %w", err))
	}
	t.Effect = e
	if ar := strings.TrimSpace(autoRange); ar != "" {
		rg, err := assess.ParseRange(ar)
		if err != nil {
			return t, store.Invalid(fmt.Errorf("auto_range: %w", err))
		}
		t.Auto = &rg
	}
	if ex := strings.TrimSpace(expiry); ex != "" {
		d, err := assess.ParseDuration(ex)
		if err != nil {
			return t, store.Invalid(fmt.Errorf("expiry: %w", err))
		}
		t.Expiry = d
	}
	return t, store.Invalid(t.Validate())
}

func (s *Server) apiTypes(r *http.Request) (any, error) {
	ts, err := s.assess.Types(r.Context())
	if err != nil {
		return nil, err
	}
	return typesOut(ts), nil
}

// typeNamed reads a type back after a change.
func (s *Server) typeNamed(r *http.Request, name string) (typeJSON, error) {
	ts, err := s.assess.Types(r.Context())
	if err != nil {
		return typeJSON{}, err
	}
	t, ok := assess.FindType(ts, name)
	if !ok {
		return typeJSON{}, errStatus(http.StatusNotFound, "no assessment type %q", name)
	}
	return typeOut(t), nil
}

func (s *Server) apiCreateType(r *http.Request) (any, error) {
	var in typeJSON
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	t, err := typeIn(in.Name, in.Effect, in.AutoRange, in.Expiry, in.Description)
	if err == nil {
		err = s.assess.CreateType(r.Context(), t)
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("assessment type created", "by", principal(r).Username, "type", t.Name, "effect", t.Effect)
	out, err := s.typeNamed(r, t.Name)
	if err != nil {
		return nil, err
	}
	return created("/api/v1/assessment-types/"+t.Name, out), nil
}

func (s *Server) apiUpdateType(r *http.Request) (any, error) {
	var in typeJSON
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	if in.Name != "" && !strings.EqualFold(in.Name, name) {
		return nil, errStatus(http.StatusUnprocessableEntity, "name %q differs from the type in the path (%q); types cannot be renamed", in.Name, name)
	}
	t, err := typeIn(name, in.Effect, in.AutoRange, in.Expiry, in.Description)
	if err == nil {
		err = s.assess.UpdateType(r.Context(), t)
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("assessment type updated", "by", principal(r).Username, "type", t.Name)
	return s.typeNamed(r, t.Name)
}

func (s *Server) apiDeleteType(r *http.Request) (any, error) {
	name := r.PathValue("name")
	if err := s.assess.DeleteType(r.Context(), name); err != nil {
		return nil, err
	}
	s.log.Info("assessment type deleted", "by", principal(r).Username, "type", name)
	return noContent(), nil
}
