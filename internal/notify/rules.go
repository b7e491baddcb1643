package notify

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/assess"
	"github.com/vulngate/vulngate/internal/severity"
	"github.com/vulngate/vulngate/internal/store"
)

// ErrInvalid marks validation errors (the store's shared sentinel).
var ErrInvalid = store.ErrInvalid

// Rule is a rule as the API shows it: the secret is never included, and a
// Slack or Teams URL only masked (MaskURL).
type Rule struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Event       string    `json:"event"`
	Scope       string    `json:"scope"`
	MinSeverity string    `json:"min_severity"`
	Days        int       `json:"days"`
	Kind        string    `json:"kind"`
	URL         string    `json:"url"`
	SecretSet   bool      `json:"secret_set"`
	Recipients  []string  `json:"recipients"`
	Enabled     bool      `json:"enabled"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// RuleInput creates or changes a rule. Secret nil keeps the stored one;
// "" removes it. When a Slack or Teams rule is changed, a URL left empty,
// or given as shown (masked), keeps the stored one.
type RuleInput struct {
	Name        string   `json:"name"`
	Event       string   `json:"event"`
	Scope       string   `json:"scope"`
	MinSeverity string   `json:"min_severity"`
	Days        int      `json:"days"`
	Kind        string   `json:"kind"`
	URL         string   `json:"url"`
	Secret      *string  `json:"secret"`
	Recipients  []string `json:"recipients"`
	Enabled     *bool    `json:"enabled"`
}

func (s *Service) ruleOut(r store.NotifyRule) Rule {
	rec := r.Recipients
	if rec == nil {
		rec = []string{}
	}
	// Slack and Teams webhook URLs are secrets themselves: shown masked.
	u := r.URL
	if URLIsSecret(r.Kind) {
		if plain, err := s.destination(r); err != nil {
			u = "(sealed with another key: set it again)"
		} else {
			u = MaskURL(plain)
		}
	}
	return Rule{ID: r.ID, Name: r.Name, Event: r.Event, Scope: r.Scope, MinSeverity: r.MinSeverity, Days: r.Days, Kind: r.Kind, URL: u,
		SecretSet: r.Secret != "", Recipients: rec, Enabled: r.Enabled, Created: r.Created, Updated: r.Updated}
}

// ListRules returns every rule, secrets left out.
func (s *Service) ListRules(ctx context.Context) ([]Rule, error) {
	rs, err := s.o.Store.NotifyRules(ctx)
	if err != nil {
		return nil, err
	}
	out := []Rule{}
	for _, r := range rs {
		out = append(out, s.ruleOut(r))
	}
	return out, nil
}

// SaveRule creates (id 0) or updates a rule after validating it.
func (s *Service) SaveRule(ctx context.Context, id int64, in RuleInput) (Rule, error) {
	r := store.NotifyRule{ID: id, Enabled: true}
	if id != 0 {
		old, err := s.o.Store.NotifyRule(ctx, id)
		if err != nil {
			return Rule{}, err
		}
		r = old
	}
	oldKind, oldURL := r.Kind, r.URL
	r.Name, r.Event, r.Scope, r.Kind, r.URL = strings.TrimSpace(in.Name), in.Event, strings.TrimSpace(in.Scope), in.Kind, strings.TrimSpace(in.URL)
	if id != 0 && URLIsSecret(r.Kind) && URLIsSecret(oldKind) && oldURL != "" {
		// The stored URL is kept when the input leaves it out, shows it
		// masked, or repeats the stored (sealed) value.
		plain, err := s.destination(store.NotifyRule{Kind: oldKind, URL: oldURL})
		if err == nil && (r.URL == "" || r.URL == oldURL || r.URL == MaskURL(plain)) {
			r.URL = plain
		}
	}
	r.MinSeverity, r.Days, r.Recipients = strings.ToUpper(strings.TrimSpace(in.MinSeverity)), in.Days, nil
	for _, x := range in.Recipients {
		if x = strings.TrimSpace(x); x != "" {
			r.Recipients = append(r.Recipients, x)
		}
	}
	if in.Enabled != nil {
		r.Enabled = *in.Enabled
	}
	if in.Secret != nil {
		sealed, err := s.seal(purposeWebhook, *in.Secret)
		if err != nil {
			return Rule{}, err
		}
		r.Secret = sealed
	}
	if err := validate(r); err != nil {
		return Rule{}, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	if URLIsSecret(r.Kind) {
		sealed, err := s.seal(purposeURL, r.URL)
		if err != nil {
			return Rule{}, err
		}
		r.URL = sealed
	}
	newID, err := s.o.Store.SaveNotifyRule(ctx, r, s.o.Now())
	if err != nil {
		return Rule{}, err
	}
	if err := s.Reload(ctx); err != nil {
		return Rule{}, err
	}
	saved, err := s.o.Store.NotifyRule(ctx, newID)
	return s.ruleOut(saved), err
}

// DeleteRule removes a rule; its deliveries stay in the log.
func (s *Service) DeleteRule(ctx context.Context, id int64) error {
	if err := s.o.Store.DeleteNotifyRule(ctx, id); err != nil {
		return err
	}
	return s.Reload(ctx)
}

func validate(r store.NotifyRule) error {
	if r.Name == "" || len(r.Name) > 100 {
		return errors.New("name: 1-100 characters")
	}
	if !slices.Contains(Events, r.Event) {
		return fmt.Errorf("event %q: want one of %s", r.Event, strings.Join(Events, ", "))
	}
	if r.Scope != "" && r.Scope != "*" && r.Scope != "project:*" && r.Scope != "feed:*" {
		if _, err := assess.ParseScope(r.Scope); err != nil || r.Scope == assess.Global {
			return fmt.Errorf("scope %q: want empty (all), project:NAME, feed:NAME, project:* or feed:*", r.Scope)
		}
	}
	if r.MinSeverity != "" && !slices.Contains([]severity.Rating{severity.Low, severity.Medium, severity.High, severity.Critical}, severity.Rating(r.MinSeverity)) {
		return fmt.Errorf("min_severity %q: want LOW, MEDIUM, HIGH or CRITICAL", r.MinSeverity)
	}
	if r.Days < 0 || r.Days > 365 {
		return fmt.Errorf("days %d: want 0-365", r.Days)
	}
	switch r.Kind {
	case KindWebhook, KindSlack, KindTeams:
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return fmt.Errorf("url: want an http:// or https:// URL without credentials")
		}
	case KindEmail:
		if len(r.Recipients) == 0 || len(r.Recipients) > 50 {
			return errors.New("recipients: 1-50 e-mail addresses")
		}
		for _, a := range r.Recipients {
			if _, err := mail.ParseAddress(a); err != nil || strings.ContainsAny(a, "\r\n,<>") {
				return fmt.Errorf("recipient %q: not an e-mail address", a)
			}
		}
	default:
		return fmt.Errorf("kind %q: want one of %s", r.Kind, strings.Join(Kinds, ", "))
	}
	return nil
}

// SMTPView is the SMTP configuration as the API shows it.
type SMTPView struct {
	Host        string `json:"host"`
	Port        int    `json:"port"`
	Username    string `json:"username"`
	PasswordSet bool   `json:"password_set"`
	From        string `json:"from"`
	StartTLS    bool   `json:"starttls"`
}

// SMTPInput changes the SMTP configuration; Password nil keeps it.
type SMTPInput struct {
	Host     string  `json:"host"`
	Port     int     `json:"port"`
	Username string  `json:"username"`
	Password *string `json:"password"`
	From     string  `json:"from"`
	StartTLS bool    `json:"starttls"`
}

// GetSMTP returns the SMTP configuration without its password.
func (s *Service) GetSMTP(ctx context.Context) (SMTPView, error) {
	var c SMTP
	_, err := s.o.Store.Setting(ctx, SMTPSetting, &c)
	return SMTPView{Host: c.Host, Port: c.Port, Username: c.Username, PasswordSet: c.Password != "", From: c.From, StartTLS: c.StartTLS}, err
}

// SetSMTP validates and stores the SMTP configuration.
func (s *Service) SetSMTP(ctx context.Context, in SMTPInput) (SMTPView, error) {
	var c SMTP
	if _, err := s.o.Store.Setting(ctx, SMTPSetting, &c); err != nil {
		return SMTPView{}, err
	}
	c.Host, c.Port, c.Username, c.From, c.StartTLS = strings.TrimSpace(in.Host), in.Port, strings.TrimSpace(in.Username), strings.TrimSpace(in.From), in.StartTLS
	if in.Password != nil {
		p, err := s.seal(purposeSMTP, *in.Password)
		if err != nil {
			return SMTPView{}, err
		}
		c.Password = p
	}
	switch {
	case c.Host == "" || strings.ContainsAny(c.Host, " /:"):
		return SMTPView{}, fmt.Errorf("host %q: want a host name or address: %w", c.Host, ErrInvalid)
	case c.Port < 0 || c.Port > 65535:
		return SMTPView{}, fmt.Errorf("port %d: %w", c.Port, ErrInvalid)
	case c.Password != "" && !c.StartTLS:
		return SMTPView{}, fmt.Errorf("a password is only sent after STARTTLS: enable starttls: %w", ErrInvalid)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return SMTPView{}, fmt.Errorf("from %q: not an e-mail address: %w", c.From, ErrInvalid)
	}
	if err := s.o.Store.PutSetting(ctx, SMTPSetting, c); err != nil {
		return SMTPView{}, err
	}
	return s.GetSMTP(ctx)
}

// Deliveries returns the newest deliveries of the log.
func (s *Service) Deliveries(ctx context.Context, limit int) ([]store.NotifyDelivery, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	return s.o.Store.NotifyDeliveries(ctx, limit)
}

// FeedRefused publishes a download refused by a feed's gate.
func (s *Service) FeedRefused(feed, pkg, reason string) {
	s.Publish(Event{Kind: EventFeedRefused, Scope: "feed:" + feed, Package: pkg, Subject: fmt.Sprintf("Feed %s refused %s", feed, pkg), Text: reason})
}

// JobFailed publishes a failed job run.
func (s *Service) JobFailed(job, title, errText string) {
	s.Publish(Event{Kind: EventJobFailed, Job: job, Error: errText, Subject: fmt.Sprintf("Job %q failed", title), Text: errText})
}

// Expired publishes assessments the expiry sweep removed.
func (s *Service) Expired(as []assess.Assessment) {
	for _, a := range as {
		s.Publish(Event{Kind: EventExpired, Scope: scopeOf(a.Scope), VulnID: a.VulnID, Expires: a.Expires,
			Subject: fmt.Sprintf("Assessment of %s (%s, %s) expired", a.VulnID, a.Type, a.Scope),
			Text:    fmt.Sprintf("%s is unassessed again in scope %s; its %s assessment by %s expired at %s.", a.VulnID, a.Scope, a.Type, a.By, a.Expires.UTC().Format(time.RFC3339))})
	}
}

// CheckExpiring publishes, once per assessment and rule, the assessments
// that expire within the largest "days" of the expiring rules.
func (s *Service) CheckExpiring(ctx context.Context, as *assess.Service) (int, error) {
	days := 0
	for _, r := range s.Rules(EventExpiring) {
		days = max(days, r.Days, 1)
	}
	if days == 0 {
		return 0, nil
	}
	list, err := as.List(ctx, assess.ListFilter{})
	if err != nil {
		return 0, err
	}
	now := s.o.Now().UTC()
	n := 0
	for _, a := range list {
		if a.Expires.IsZero() || a.Expires.Sub(now) > time.Duration(days)*24*time.Hour {
			continue
		}
		n++
		s.Publish(Event{Kind: EventExpiring, Scope: scopeOf(a.Scope), VulnID: a.VulnID, Expires: a.Expires, At: now,
			Dedupe:  "expiring:" + a.VulnID + ":" + a.Scope + ":" + a.Expires.UTC().Format(time.RFC3339),
			Subject: fmt.Sprintf("Assessment of %s (%s, %s) expires %s", a.VulnID, a.Type, a.Scope, a.Expires.UTC().Format(time.DateOnly)),
			Text:    fmt.Sprintf("The %s assessment of %s in scope %s (by %s) expires at %s; assess it again to keep its effect.", a.Type, a.VulnID, a.Scope, a.By, a.Expires.UTC().Format(time.RFC3339))})
	}
	return n, nil
}

func scopeOf(s string) string {
	if s == assess.Global {
		return ""
	}
	return s
}

// SetEnabled turns a rule on or off.
func (s *Service) SetEnabled(ctx context.Context, id int64, enabled bool) (Rule, error) {
	r, err := s.o.Store.NotifyRule(ctx, id)
	if err != nil {
		return Rule{}, err
	}
	return s.SaveRule(ctx, id, RuleInput{Name: r.Name, Event: r.Event, Scope: r.Scope, MinSeverity: r.MinSeverity, Days: r.Days,
		Kind: r.Kind, URL: r.URL, Recipients: r.Recipients, Enabled: &enabled})
}

// EventTest is the kind of the event Test sends.
const EventTest = "test"

// Test queues a test message for one rule, whatever its event, so that an
// admin can check the destination; the delivery log shows the outcome.
func (s *Service) Test(ctx context.Context, id int64, by string) error {
	r, err := s.o.Store.NotifyRule(ctx, id)
	if err != nil {
		return err
	}
	ev := Event{Kind: EventTest, At: s.o.Now().UTC(), Subject: fmt.Sprintf("vulngate test notification for rule %q", r.Name),
		Text: fmt.Sprintf("%s sent this test from Administration > Notifications to check the destination of rule %q (event %s).", by, r.Name, r.Event)}
	select {
	case s.queue <- job{rule: r, ev: ev}:
		return nil
	default:
		return errors.New("the notification queue is full; try again shortly")
	}
}
