package server

import (
	"fmt"
	"net/http"
	"strconv"
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
	AutoKEV     bool   `json:"auto_kev"`   // auto-assesses known exploited findings (CISA KEV)
	AutoEPSS    string `json:"auto_epss"`  // EPSS percentile threshold, "0.95"; "" none
	Expiry      string `json:"expiry"`     // "30d", "never"
	Description string `json:"description"`
	Rules       string `json:"rules"` // all auto-assessment rules for people (read only)
}

// typeInput is a type as a request gives it: exploitation rules left out
// keep their current value on update (absent on create).
type typeInput struct {
	typeJSON
	AutoKEV  *bool   `json:"auto_kev"`
	AutoEPSS *string `json:"auto_epss"`
}

func typeOut(t assess.Type) typeJSON {
	o := typeJSON{Name: t.Name, Effect: string(t.Effect), Builtin: t.Builtin, Expiry: "never", Description: t.Description,
		AutoKEV: t.AutoKEV, Rules: t.Rules()}
	if t.Auto != nil {
		o.AutoRange = t.Auto.String()
	}
	if t.AutoEPSS != nil {
		o.AutoEPSS = strconv.FormatFloat(*t.AutoEPSS, 'f', -1, 64)
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

// exploitRules sets a type's exploitation rules from a request: nil
// leaves the current value.
func exploitRules(t *assess.Type, kev *bool, epss *string) error {
	if kev != nil {
		t.AutoKEV = *kev
	}
	if epss != nil {
		v, err := assess.ParseEPSSThreshold(*epss)
		if err != nil {
			return store.Invalid(fmt.Errorf("auto_epss: %w", err))
		}
		t.AutoEPSS = v
	}
	return nil
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
	var in typeInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	t, err := typeIn(in.Name, in.Effect, in.AutoRange, in.Expiry, in.Description)
	if err == nil {
		err = exploitRules(&t, in.AutoKEV, in.AutoEPSS)
	}
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
	var in typeInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	if in.Name != "" && !strings.EqualFold(in.Name, name) {
		return nil, errStatus(http.StatusUnprocessableEntity, "name %q differs from the type in the path (%q); types cannot be renamed", in.Name, name)
	}
	t, err := typeIn(name, in.Effect, in.AutoRange, in.Expiry, in.Description)
	if err == nil {
		var ts []assess.Type
		if ts, err = s.assess.Types(r.Context()); err == nil {
			if old, ok := assess.FindType(ts, name); ok {
				t.AutoKEV, t.AutoEPSS = old.AutoKEV, old.AutoEPSS
			}
			err = exploitRules(&t, in.AutoKEV, in.AutoEPSS)
		}
	}
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
