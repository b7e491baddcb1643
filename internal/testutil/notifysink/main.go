// Command notifysink receives vulngate's notifications on this machine and
// prints them: an HTTP webhook receiver (checking the X-Vulngate-Signature
// HMAC when given the rule's secret) and an SMTP server (internal/testutil/
// mailtest) that keeps nothing and relays nothing. The projects
// walkthrough (docs/projects.md) uses it as the destination of its webhook
// and e-mail rules:
//
//	go run ./internal/testutil/notifysink -http 127.0.0.1:9090 -smtp 127.0.0.1:2525 -secret 'the rule secret'
//
// It is development support, never part of the vulngate binary; it offers
// no TLS (configure the SMTP server in vulngate without STARTTLS and
// without a password) and listens on loopback by default.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/notify"
	"github.com/vulngate/vulngate/internal/testutil/mailtest"
)

func main() {
	httpAddr := flag.String("http", "127.0.0.1:9090", "webhook receiver address (any path)")
	smtpAddr := flag.String("smtp", "127.0.0.1:2525", "SMTP server address")
	secret := flag.String("secret", os.Getenv("NOTIFYSINK_SECRET"), "the webhook rule's secret, to check signatures (default $NOTIFYSINK_SECRET)")
	flag.Parse()
	log.SetFlags(log.Ltime)

	ms, err := mailtest.New(mailtest.Options{Addr: *smtpAddr, MaxMessages: 1, OnMessage: func(m mailtest.Mail) {
		log.Printf("E-MAIL from %s to %s\n  Subject: %s\n%s", m.From, strings.Join(m.To, ", "), m.Subject, indent(m.Body))
	}})
	if err != nil {
		log.Fatalf("SMTP server: %v", err)
	}
	defer ms.Close()

	srv := &http.Server{Addr: *httpAddr, ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || r.Method != http.MethodPost {
			http.Error(w, "POST a notification", http.StatusBadRequest)
			return
		}
		sig := r.Header.Get(notify.SignatureHeader)
		check := "unsigned"
		switch {
		case sig != "" && *secret == "":
			check = "signed (pass -secret to check the signature)"
		case sig != "" && sig == notify.Sign(*secret, body):
			check = "signature OK"
		case sig != "":
			check = "SIGNATURE DOES NOT MATCH the secret given"
		}
		var pretty bytes.Buffer
		if json.Indent(&pretty, body, "", "  ") != nil {
			pretty.Reset()
			pretty.Write(body)
		}
		text := pretty.String()
		if len(text) > 4000 {
			text = text[:4000] + "\n... (cut)"
		}
		log.Printf("WEBHOOK %s %s, event %s, %s\n%s", r.Method, r.URL.Path, r.Header.Get("X-Vulngate-Event"), check, indent(text))
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() {
		if err := srv.ListenAndServe(); err != http.ErrServerClosed {
			log.Fatalf("webhook receiver: %v", err)
		}
	}()
	fmt.Fprintf(os.Stderr, "notifysink: webhooks at http://%s/ (any path), SMTP at %s (no TLS, no auth); Ctrl-C stops\n", *httpAddr, ms.Addr)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	<-stop
	srv.Close()
}

func indent(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
