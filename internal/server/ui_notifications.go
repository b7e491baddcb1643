package server

import (
	"net/http"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/notify"
)

// notificationPages: Administration › Notifications (rules, SMTP server,
// delivery log); changes go through the API.
func (s *Server) notificationPages() []route {
	return []route{
		s.plain("GET /admin/notifications", auth.Admin, s.uiNotifications),
	}
}

func (s *Server) uiNotifications(w http.ResponseWriter, r *http.Request) {
	rules, err := s.notify.ListRules(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	smtp, err := s.notify.GetSMTP(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	ds, err := s.notify.Deliveries(r.Context(), 100)
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	s.render(w, r, http.StatusOK, "notifications", "Notifications", map[string]any{"Rules": rules, "SMTP": smtp, "Deliveries": ds, "Events": notify.Events, "Kinds": notify.Kinds}, "")
}
