// Package mailtest runs a real SMTP server (github.com/emersion/go-smtp) on
// loopback and keeps the messages it accepts: for tests of e-mail
// notifications, and for the notifysink tool that the projects walkthrough
// uses as a local mail server. It can offer STARTTLS (a self-signed
// certificate for 127.0.0.1, trusted by Server.Pool) and require AUTH PLAIN,
// which go-smtp only accepts over TLS.
//
// It is test and development support only; it never relays mail and is
// never linked into the vulngate binary.
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configures a Server.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0.
	Addr string
	// TLS offers STARTTLS with a self-signed certificate for 127.0.0.1.
	TLS bool
	// User and Password, when set, are required (AUTH PLAIN, after
	// STARTTLS) before a message is accepted.
	User, Password string
	// OnMessage is called with each accepted message.
	OnMessage func(Mail)
	// MaxMessages bounds the messages kept (default 1000; older ones are
	// dropped first).
	MaxMessages int
}

// Mail is one accepted message.
type Mail struct {
	From    string
	To      []string
	Data    string // the message as received (headers and body)
	Subject string // decoded
	Body    string
	TLS     bool // received over STARTTLS
}

// Server is a running SMTP server.
type Server struct {
	Addr string
	Host string
	Port int
	// Pool trusts the server's certificate (when Options.TLS).
	Pool *x509.CertPool

	o      Options
	srv    *smtp.Server
	mu     sync.Mutex
	msgs   []Mail
	notify chan struct{}
}

// New starts a server.
func New(o Options) (*Server, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.MaxMessages <= 0 {
		o.MaxMessages = 1000
	}
	s := &Server{o: o, notify: make(chan struct{}, 1)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s, c: c}, nil }))
	srv.Domain = "127.0.0.1"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxMessageBytes = 10 << 20
	if o.TLS {
		cert, pool, err := selfSigned()
		if err != nil {
			return nil, err
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.Pool = pool
	}
	l, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, err
	}
	s.srv, s.Addr = srv, l.Addr().String()
	host, port, _ := net.SplitHostPort(s.Addr)
	s.Host = host
	s.Port, _ = strconv.Atoi(port)
	go srv.Serve(l)
	return s, nil
}

// Start starts a server that stops when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Messages returns the accepted messages, oldest first.
func (s *Server) Messages() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.msgs...)
}

// Wait waits until at least n messages were accepted or the timeout
// passes, and returns the messages.
func (s *Server) Wait(n int, timeout time.Duration) []Mail {
	deadline := time.After(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.notify:
		case <-deadline:
			return s.Messages()
		}
	}
}

func (s *Server) add(m Mail) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	if len(s.msgs) > s.o.MaxMessages {
		s.msgs = s.msgs[len(s.msgs)-s.o.MaxMessages:]
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	if s.o.OnMessage != nil {
		s.o.OnMessage(m)
	}
}

type session struct {
	s      *Server
	c      *smtp.Conn
	authed bool
	cur    Mail
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.o.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != ss.s.o.User || pass != ss.s.o.Password {
			return errors.New("bad credentials")
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.o.User != "" && !ss.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authenticate first"}
	}
	_, isTLS := ss.c.TLSConnectionState()
	ss.cur = Mail{From: from, TLS: isTLS}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if len(ss.cur.To) >= 100 {
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3}, Message: "too many recipients"}
	}
	ss.cur.To = append(ss.cur.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := ss.cur
	m.Data = string(b)
	if msg, err := mail.ReadMessage(strings.NewReader(m.Data)); err == nil {
		m.Subject = msg.Header.Get("Subject")
		if d, err := new(mime.WordDecoder).DecodeHeader(m.Subject); err == nil {
			m.Subject = d
		}
		body, _ := io.ReadAll(msg.Body)
		m.Body = string(body)
	}
	ss.s.add(m)
	return nil
}

func (ss *session) Reset()        { ss.cur = Mail{} }
func (ss *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool, nil
}
