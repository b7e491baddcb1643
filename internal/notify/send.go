package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

// Destination kinds.
const (
	KindWebhook = "webhook"
	KindSlack   = "slack"
	KindTeams   = "teams"
	KindEmail   = "email"
)

// Kinds lists the destination kinds.
var Kinds = []string{KindWebhook, KindSlack, KindTeams, KindEmail}

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body
// under the rule's secret (generic webhooks with a secret).
const SignatureHeader = "X-Vulngate-Signature"

// Sign returns the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// payload is the body a destination kind receives.
func payload(kind string, ev Event) ([]byte, error) {
	switch kind {
	case KindSlack:
		// Slack's text escapes &, < and > (advisory text is not markup).
		esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
		text := "*" + esc.Replace(ev.Subject) + "*\n" + esc.Replace(ev.Text)
		if ev.Link != "" {
			text += "\n<" + ev.Link + "|Open in vulngate>"
		}
		return json.Marshal(map[string]any{"text": text})
	case KindTeams:
		// A MessageCard, which Teams' incoming webhooks and workflows
		// accept; its text is HTML, so advisory text is escaped.
		card := map[string]any{"@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": ev.Subject,
			"title": ev.Subject, "text": strings.ReplaceAll(html.EscapeString(ev.Text), "\n", "<br>")}
		if ev.Link != "" {
			card["potentialAction"] = []any{map[string]any{"@type": "OpenUri", "name": "Open in vulngate",
				"targets": []any{map[string]string{"os": "default", "uri": ev.Link}}}}
		}
		return json.Marshal(card)
	}
	return json.Marshal(ev)
}

// mailBody is the text of an e-mail: the event's text and its link.
func mailBody(ev Event) string {
	text := ev.Text
	if ev.Link != "" {
		text = strings.TrimRight(text, "\n") + "\n\nOpen in vulngate: " + ev.Link + "\n"
	}
	return strings.ReplaceAll(text, "\n", "\r\n")
}

func (s *Service) postWebhook(ctx context.Context, r store.NotifyRule, ev Event) error {
	body, err := payload(r.Kind, ev)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	dest, err := s.destination(r)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dest, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook URL: %s", redactURL(err.Error(), dest))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vulngate")
	req.Header.Set("X-Vulngate-Event", ev.Kind)
	if r.Kind == KindWebhook && r.Secret != "" {
		secret, err := s.open(purposeWebhook, r.Secret)
		if err != nil {
			return err
		}
		req.Header.Set(SignatureHeader, Sign(secret, body))
	}
	resp, err := s.o.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %s", redactURL(err.Error(), dest))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		// The body is not echoed: receivers may reflect what they got.
		return fmt.Errorf("webhook answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// redactURL hides a webhook URL (Slack and Teams URLs are secrets) in
// text: the whole URL, and its path and query wherever they stand alone
// or escaped (they carry the token).
func redactURL(text, u string) string {
	text = strings.ReplaceAll(text, u, "(webhook URL)")
	if p, err := url.Parse(u); err == nil {
		for _, part := range []string{p.RequestURI(), p.EscapedPath(), p.RawQuery} {
			if len(part) > 1 {
				text = strings.ReplaceAll(text, part, "/…")
				text = strings.ReplaceAll(text, url.QueryEscape(part), "/…")
			}
		}
	}
	return text
}

func (s *Service) smtpSettings(ctx context.Context) (SMTP, error) {
	var c SMTP
	ok, err := s.o.Store.Setting(ctx, SMTPSetting, &c)
	if err != nil {
		return c, err
	}
	if !ok || c.Host == "" {
		return c, fmt.Errorf("no SMTP server configured (Administration > Notifications)")
	}
	if c.Password != "" {
		if c.Password, err = s.open(purposeSMTP, c.Password); err != nil {
			return c, err
		}
	}
	return c, nil
}

// sendMail sends the event as a plain-text e-mail to the rule's recipients.
func (s *Service) sendMail(ctx context.Context, r store.NotifyRule, ev Event) error {
	c, err := s.smtpSettings(ctx)
	if err != nil {
		return err
	}
	if len(r.Recipients) == 0 {
		return fmt.Errorf("the rule has no recipients")
	}
	port := c.Port
	if port == 0 {
		port = 587
	}
	addr := net.JoinHostPort(c.Host, strconv.Itoa(port))
	d := net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("SMTP %s: %v", addr, err)
	}
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	// A cancelled context (the service stopping) ends the conversation.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("SMTP %s: %v", addr, err)
	}
	defer cl.Close()
	if err := cl.Hello("vulngate"); err != nil {
		return fmt.Errorf("SMTP %s: %v", addr, err)
	}
	if c.StartTLS || c.Password != "" {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return fmt.Errorf("SMTP %s does not offer STARTTLS; vulngate never sends a password without it", addr)
		}
		cfg := s.o.TLS.Clone()
		if cfg == nil {
			cfg = new(tls.Config)
		}
		cfg.ServerName = c.Host
		if err := cl.StartTLS(cfg); err != nil {
			return fmt.Errorf("SMTP %s: STARTTLS: %v", addr, err)
		}
	}
	if c.Username != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password, c.Host)); err != nil {
			return fmt.Errorf("SMTP %s: authentication failed: %s", addr, strings.ReplaceAll(err.Error(), c.Password, "***"))
		}
	}
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return fmt.Errorf("SMTP sender %q: %v", c.From, err)
	}
	if err := cl.Mail(from.Address); err != nil {
		return fmt.Errorf("SMTP MAIL FROM: %v", err)
	}
	for _, to := range r.Recipients {
		if err := cl.Rcpt(to); err != nil {
			return fmt.Errorf("SMTP RCPT TO %s: %v", to, err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("SMTP DATA: %v", err)
	}
	fmt.Fprintf(w, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nX-Vulngate-Event: %s\r\n\r\n%s\r\n",
		from.String(), strings.Join(r.Recipients, ", "), mimeHeader(ev.Subject), ev.At.Format(time.RFC1123Z), ev.Kind, mailBody(ev))
	if err := w.Close(); err != nil {
		return fmt.Errorf("SMTP message: %v", err)
	}
	return cl.Quit()
}

// mimeHeader keeps a header value on one line and encodes non-ASCII.
func mimeHeader(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	return mime.QEncoding.Encode("utf-8", s)
}
