package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/notify"
	"github.com/vulngate/vulngate/internal/store"
)

// notificationPages: Administration › Notifications: the SMTP server, the
// rules (create, enable or disable, test, delete) and the delivery log.
// The forms call the same service as /api/v1/notifications.
func (s *Server) notificationPages() []route {
	return []route{
		s.plain("GET /admin/notifications", auth.Admin, s.uiNotifications),
		s.plain("POST /admin/notifications/smtp", auth.Admin, s.uiSetSMTP),
		s.plain("POST /admin/notifications/rules", auth.Admin, s.uiCreateRule),
		s.plain("POST /admin/notifications/rules/{id}/enabled", auth.Admin, s.uiEnableRule),
		s.plain("POST /admin/notifications/rules/{id}/test", auth.Admin, s.uiTestRule),
		s.plain("POST /admin/notifications/rules/{id}/delete", auth.Admin, s.uiDeleteRule),
	}
}

// ruleForm is what the rule form shows (the secret never comes back).
type ruleForm struct {
	Name, Event, Scope, MinSeverity, Days, Kind, URL, Recipients string
}

func (s *Server) uiNotifications(w http.ResponseWriter, r *http.Request) {
	s.notificationsPage(w, r, http.StatusOK, ruleForm{Event: notify.EventNewFinding, Kind: notify.KindWebhook}, nil, "")
}

// notificationsPage renders the page; smtpForm, when set, keeps what was
// posted.
func (s *Server) notificationsPage(w http.ResponseWriter, r *http.Request, status int, form ruleForm, smtpForm *notify.SMTPView, errMsg string) {
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
	if smtpForm != nil {
		smtpForm.PasswordSet = smtp.PasswordSet
		smtp = *smtpForm
	}
	ds, err := s.notify.Deliveries(r.Context(), 100)
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	s.render(w, r, status, "notifications", "Notifications", map[string]any{"Rules": rules, "SMTP": smtp, "Deliveries": ds,
		"Events": notify.Events, "Kinds": notify.Kinds, "Severities": []string{"", "LOW", "MEDIUM", "HIGH", "CRITICAL"}, "Form": form, "StatusHelp": deliveryStatus}, errMsg)
}

func (s *Server) uiSetSMTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	r.ParseForm()
	f := r.PostForm
	in := notify.SMTPInput{Host: strings.TrimSpace(f.Get("host")), Username: strings.TrimSpace(f.Get("username")), From: strings.TrimSpace(f.Get("from")), StartTLS: f.Get("starttls") != ""}
	view := notify.SMTPView{Host: in.Host, Username: in.Username, From: in.From, StartTLS: in.StartTLS}
	again := func(status int, msg string) { s.notificationsPage(w, r, status, ruleForm{}, &view, msg) }
	if p := f.Get("port"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			again(http.StatusUnprocessableEntity, "port "+strconv.Quote(p)+": want a number")
			return
		}
		in.Port, view.Port = n, n
	}
	// An empty password field keeps the stored one; "clear" removes it.
	if p := f.Get("password"); p != "" {
		in.Password = &p
	} else if f.Get("clear_password") != "" {
		empty := ""
		in.Password = &empty
	}
	if _, err := s.notify.SetSMTP(r.Context(), in); err != nil {
		s.uiFail(w, r, err, again)
		return
	}
	http.Redirect(w, r, "/admin/notifications?ok=saved#smtp", http.StatusSeeOther)
}

func (s *Server) uiCreateRule(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	r.ParseForm()
	f := r.PostForm
	form := ruleForm{Name: f.Get("name"), Event: f.Get("event"), Scope: f.Get("scope"), MinSeverity: f.Get("min_severity"), Days: f.Get("days"),
		Kind: f.Get("kind"), URL: f.Get("url"), Recipients: f.Get("recipients")}
	again := func(status int, msg string) {
		if notify.URLIsSecret(form.Kind) {
			form.URL = "" // a Slack or Teams URL is a credential: not echoed
		}
		s.notificationsPage(w, r, status, form, nil, msg)
	}
	in := notify.RuleInput{Name: form.Name, Event: form.Event, Scope: form.Scope, MinSeverity: form.MinSeverity, Kind: form.Kind, URL: form.URL}
	if form.Days != "" {
		n, err := strconv.Atoi(form.Days)
		if err != nil {
			again(http.StatusUnprocessableEntity, "days "+strconv.Quote(form.Days)+": want a number")
			return
		}
		in.Days = n
	}
	in.Recipients = strings.FieldsFunc(form.Recipients, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' })
	if sec := f.Get("secret"); sec != "" {
		in.Secret = &sec
	}
	if _, err := s.notify.SaveRule(r.Context(), 0, in); err != nil {
		s.uiFail(w, r, err, again)
		return
	}
	http.Redirect(w, r, "/admin/notifications?ok=rulecreated#rules", http.StatusSeeOther)
}

// ruleAction runs fn on the rule of the path and returns to the page.
func (s *Server) ruleAction(w http.ResponseWriter, r *http.Request, flash string, fn func(id int64) error) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	id, err := pathID(r, "id")
	if err == nil {
		err = fn(id)
	}
	if err != nil {
		s.uiFail(w, r, err, func(status int, msg string) { s.notificationsPage(w, r, status, ruleForm{}, nil, msg) })
		return
	}
	http.Redirect(w, r, "/admin/notifications?ok="+flash+"#rules", http.StatusSeeOther)
}

func (s *Server) uiEnableRule(w http.ResponseWriter, r *http.Request) {
	s.ruleAction(w, r, "saved", func(id int64) error {
		_, err := s.notify.SetEnabled(r.Context(), id, r.PostFormValue("enabled") == "true")
		return err
	})
}

func (s *Server) uiTestRule(w http.ResponseWriter, r *http.Request) {
	s.ruleAction(w, r, "testqueued", func(id int64) error { return s.notify.Test(r.Context(), id, principal(r).Username) })
}

func (s *Server) uiDeleteRule(w http.ResponseWriter, r *http.Request) {
	s.ruleAction(w, r, "deleted", func(id int64) error { return s.notify.DeleteRule(r.Context(), id) })
}

// deliveryStatus explains a delivery log status in a tooltip.
var deliveryStatus = map[string]string{
	store.DeliveryQueued:   "waiting to be sent (left by a shutdown, or taken over)",
	store.DeliverySending:  "being sent",
	store.DeliveryRetrying: "failed; retried with back-off",
	"sent":                 "accepted by the destination",
	"failed":               "every attempt failed",
	"interrupted":          "the process stopped while sending it",
}
