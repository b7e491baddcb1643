package server

import (
	"net/http"
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

// safeNext keeps post-login redirects on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

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
