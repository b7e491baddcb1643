package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vulngate/vulngate/internal/secret"
)

// Secrets (webhook secrets, the SMTP password) are sealed with the
// server's keyring (internal/secret) before they are stored and opened
// when a delivery needs them; they are never returned by the API.

// Purposes the secrets are sealed for: a value sealed for one does not
// open for the other.
const (
	purposeWebhook = "notify:webhook-secret"
	purposeSMTP    = "notify:smtp-password"
)

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
			continue
		}
		if changed {
			r.Secret = v
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
