package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/notify"
)

// notificationRoutes: notification rules, the SMTP server and the
// delivery log (internal/notify); admins only, since rules send data out.
func (s *Server) notificationRoutes() []route {
	return []route{
		s.api("GET /api/v1/notifications/rules", auth.Admin, s.apiNotifyRules),
		s.api("POST /api/v1/notifications/rules", auth.Admin, s.apiCreateNotifyRule),
		s.api("PUT /api/v1/notifications/rules/{id}", auth.Admin, s.apiUpdateNotifyRule),
		s.api("DELETE /api/v1/notifications/rules/{id}", auth.Admin, s.apiDeleteNotifyRule),
		s.api("POST /api/v1/notifications/rules/{id}/test", auth.Admin, s.apiTestNotifyRule),
		s.api("GET /api/v1/notifications/smtp", auth.Admin, s.apiGetSMTP),
		s.api("PUT /api/v1/notifications/smtp", auth.Admin, s.apiPutSMTP),
		s.api("GET /api/v1/notifications/deliveries", auth.Admin, s.apiDeliveries),
	}
}

func (s *Server) apiNotifyRules(r *http.Request) (any, error) {
	rs, err := s.notify.ListRules(r.Context())
	return map[string]any{"rules": rs}, err
}

func (s *Server) apiCreateNotifyRule(r *http.Request) (any, error) {
	var in notify.RuleInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	rule, err := s.notify.SaveRule(r.Context(), 0, in)
	if err != nil {
		return nil, err
	}
	return created("/api/v1/notifications/rules/"+strconv.FormatInt(rule.ID, 10), rule), nil
}

func (s *Server) apiUpdateNotifyRule(r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	var in notify.RuleInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	return s.notify.SaveRule(r.Context(), id, in)
}

func (s *Server) apiDeleteNotifyRule(r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	if err := s.notify.DeleteRule(r.Context(), id); err != nil {
		return nil, err
	}
	return noContent(), nil
}

func (s *Server) apiTestNotifyRule(r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	if err := s.notify.Test(r.Context(), id, principal(r).Username); err != nil {
		return nil, err
	}
	return answer{status: http.StatusAccepted}, nil
}

func (s *Server) apiGetSMTP(r *http.Request) (any, error) {
	return s.notify.GetSMTP(r.Context())
}

func (s *Server) apiPutSMTP(r *http.Request) (any, error) {
	var in notify.SMTPInput
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	return s.notify.SetSMTP(r.Context(), in)
}

type deliveryJSON struct {
	ID        int64     `json:"id"`
	Rule      string    `json:"rule"`
	Event     string    `json:"event"`
	Subject   string    `json:"subject"`
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
}

func (s *Server) apiDeliveries(r *http.Request) (any, error) {
	limit, err := intParam(r.URL.Query(), "limit", 200, 1, 1000)
	if err != nil {
		return nil, badRequest(err)
	}
	ds, err := s.notify.Deliveries(r.Context(), limit)
	out := []deliveryJSON{}
	for _, d := range ds {
		out = append(out, deliveryJSON{ID: d.ID, Rule: d.RuleName, Event: d.Event, Subject: d.Subject, Status: d.Status, Attempts: d.Attempts, LastError: d.LastError, Created: d.Created, Updated: d.Updated})
	}
	return map[string]any{"deliveries": out}, err
}
