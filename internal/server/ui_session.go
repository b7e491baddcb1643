package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/vulngate/vulngate/internal/auth"
)

// sessionPages: the login form, logging out, the account page and its
// password change.
func (s *Server) sessionPages() []route {
	return []route{
		s.plain("GET /login", "", s.uiLoginPage),
		s.plain("POST /login", "", s.uiLogin),
		s.plain("POST /logout", "", s.uiLogout),
		s.plain("GET /account", auth.Viewer, s.uiAccount),
		s.plain("POST /account/password", auth.Viewer, s.uiChangePassword),
	}
}

// safeNext keeps post-login redirects on this site: it returns next as a
// path (with its query) on this origin, or "/". The check reads next as a
// browser would (WHATWG URL parsing): tabs and newlines are removed
// anywhere, leading and trailing spaces and control characters are
// trimmed and a backslash counts as "/"; what remains must resolve to this
// origin, and the path it resolves to, re-encoded, is what is returned, so
// the Location header says exactly what was checked.
func safeNext(next string) string {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, next)
	clean = strings.TrimFunc(clean, func(r rune) bool { return r <= ' ' })
	if !strings.HasPrefix(clean, "/") || strings.HasPrefix(clean, "//") {
		return "/"
	}
	u, err := nextBase.Parse(clean)
	if err != nil || u.Scheme != nextBase.Scheme || u.Host != nextBase.Host || u.User != nil || u.Opaque != "" {
		return "/"
	}
	out := u.EscapedPath()
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") {
		return "/"
	}
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out
}

// nextBase is the origin post-login targets are resolved against.
var nextBase = &url.URL{Scheme: "http", Host: "vulngate.invalid", Path: "/"}

func (s *Server) uiLoginPage(w http.ResponseWriter, r *http.Request) {
	if principal(r) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", "Log in", map[string]string{"Next": safeNext(r.URL.Query().Get("next")), "Username": ""}, "")
}

func (s *Server) uiLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "bad form")
		return
	}
	user, next := r.PostFormValue("username"), safeNext(r.PostFormValue("next"))
	_, cookie, err := s.login(r, user, r.PostFormValue("password"))
	if err != nil {
		s.uiFail(w, r, err, func(status int, msg string) {
			s.render(w, r, status, "login", "Log in", map[string]string{"Next": next, "Username": user}, msg)
		})
		return
	}
	http.SetCookie(w, cookie)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) uiLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.logout(r))
	http.Redirect(w, r, "/login?ok=loggedout", http.StatusSeeOther)
}

func (s *Server) uiAccount(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "account", "Account", nil, "")
}

func (s *Server) uiChangePassword(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	if err := s.changePassword(r, passwordChange{Current: r.PostFormValue("current_password"), New: r.PostFormValue("new_password")}); err != nil {
		s.uiFail(w, r, err, func(status int, msg string) { s.render(w, r, status, "account", "Account", nil, msg) })
		return
	}
	http.Redirect(w, r, "/login?ok=password", http.StatusSeeOther)
}
