package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/store"
)

// Secrets (webhook secrets, the SMTP password, and the URLs of Slack and
// Teams webhooks, which are the credential themselves) are sealed with the
// server's keyring (internal/secret) before they are stored and opened
// when a delivery needs them; they are never returned by the API (a Slack
// or Teams URL is shown masked, see MaskURL).

// Purposes the secrets are sealed for: a value sealed for one does not
// open for another.
const (
	purposeWebhook = "notify:webhook-secret"
	purposeSMTP    = "notify:smtp-password"
	purposeURL     = "notify:webhook-url"
)

// URLIsSecret reports whether a destination kind's URL is a credential
// (Slack and Teams incoming webhooks: whoever has the URL can post).
func URLIsSecret(kind string) bool { return kind == KindSlack || kind == KindTeams }

// destination returns the URL a rule posts to: opened when sealed. A Slack
// or Teams URL stored in plain text (by an earlier version, until
// SealStored seals it) is used as it is.
func (s *Service) destination(r store.NotifyRule) (string, error) {
	if !URLIsSecret(r.Kind) || !secret.IsSealed(r.URL) {
		return r.URL, nil
	}
	u, err := s.open(purposeURL, r.URL)
	if err != nil {
		return "", fmt.Errorf("the %s webhook URL: %w", r.Kind, err)
	}
	return u, nil
}

// MaskURL is how a secret webhook URL is shown: its scheme and host.
func MaskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "…"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// plainPrefix marks a secret stored in plain text by an earlier version;
// SealStored seals it.
const plainPrefix = "plain:"

func (s *Service) seal(purpose, v string) (string, error) {
	return s.o.Secrets.Seal(purpose, v)
}

func (s *Service) open(purpose, v string) (string, error) {
	if p, ok := strings.CutPrefix(v, plainPrefix); ok {
		return p, nil
	}
	p, err := s.o.Secrets.Open(purpose, v)
	if err != nil {
		return "", fmt.Errorf("a stored secret cannot be opened (%v); set it again", err)
	}
	return p, nil
}

// SealStored seals secrets stored in plain text by an earlier version and
// re-seals those sealed with an older key (after a key rotation). A
// secret that does not open is reported and left to be set again.
func (s *Service) SealStored(ctx context.Context) error {
	rules, err := s.o.Store.NotifyRules(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rules {
		v, changed, err := s.reseal(purposeWebhook, r.Secret)
		if err != nil {
			s.log.Error("a webhook secret cannot be opened with this server's secret key; set it again", "rule", r.Name, "err", err)
		} else if changed {
			r.Secret = v
		}
		if URLIsSecret(r.Kind) {
			u, urlChanged, err := s.resealURL(r.URL)
			if err != nil {
				s.log.Error("a webhook URL cannot be opened with this server's secret key; set it again", "rule", r.Name, "kind", r.Kind, "err", err)
			} else if urlChanged {
				r.URL, changed = u, true
			}
		}
		if changed {
			if _, err := s.o.Store.SaveNotifyRule(ctx, r, r.Updated); err != nil {
				errs = append(errs, err)
			}
		}
	}
	var c SMTP
	if _, err := s.o.Store.Setting(ctx, SMTPSetting, &c); err != nil {
		return errors.Join(append(errs, err)...)
	}
	v, changed, err := s.reseal(purposeSMTP, c.Password)
	switch {
	case err != nil:
		s.log.Error("the SMTP password cannot be opened with this server's secret key; set it again", "err", err)
	case changed:
		c.Password = v
		if err := s.o.Store.PutSetting(ctx, SMTPSetting, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// reseal returns v sealed with the current key, and whether it changed.
func (s *Service) reseal(purpose, v string) (string, bool, error) {
	if v == "" || secret.IsSealed(v) && s.o.Secrets.Current(v) {
		return v, false, nil
	}
	p, err := s.open(purpose, v)
	if err != nil {
		return v, false, err
	}
	sealed, err := s.seal(purpose, p)
	return sealed, err == nil, err
}

// resealURL seals a Slack or Teams URL stored in plain text, or re-seals
// one sealed with an older key; it returns whether the value changed.
func (s *Service) resealURL(v string) (string, bool, error) {
	if v == "" || secret.IsSealed(v) {
		return s.reseal(purposeURL, v)
	}
	sealed, err := s.seal(purposeURL, v)
	return sealed, err == nil, err
}
