package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
)

// sessionRoutes: logging in and out (a session cookie), the caller's
// account and password.
func (s *Server) sessionRoutes() []route {
	return []route{
		s.api("POST /api/v1/session", "", s.apiLogin),
		s.api("DELETE /api/v1/session", auth.Viewer, s.apiLogout),
		s.api("GET /api/v1/me", auth.Viewer, s.apiMe),
		s.api("PUT /api/v1/me/password", auth.Viewer, s.apiChangePassword),
	}
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type userJSON struct {
	ID       int64         `json:"id"`
	Username string        `json:"username"`
	Role     string        `json:"role"`
	Disabled bool          `json:"disabled"`
	Grants   []store.Grant `json:"grants"`
	Created  time.Time     `json:"created,omitzero"`
	Updated  time.Time     `json:"updated,omitzero"`
}

func userOut(u store.User) userJSON {
	g := u.Grants
	if g == nil {
		g = []store.Grant{}
	}
	return userJSON{ID: u.ID, Username: u.Username, Role: u.Role, Disabled: u.Disabled, Grants: g, Created: u.Created, Updated: u.Updated}
}

// login checks credentials under the rate limit and returns the session
// cookie to set.
func (s *Server) login(r *http.Request, username, password string) (*auth.Principal, *http.Cookie, error) {
	username = strings.TrimSpace(username)
	// Per client whatever the names tried, then per client and name;
	// both before any hashing.
	client := auth.ClientKey(clientIP(r))
	if err := admit(r.Context(), s.loginClient, client, "login attempts from your address"); err != nil {
		return nil, nil, err
	}
	if err := admit(r.Context(), s.loginUser, client+"\x00"+strings.ToLower(username), "login attempts"); err != nil {
		return nil, nil, err
	}
	p, token, exp, err := s.auth.Login(r.Context(), username, password)
	if err != nil {
		if errors.Is(err, auth.ErrBadCredentials) {
			s.log.Info("login failed", "user", username, "remote", clientIP(r))
			return nil, nil, errStatus(http.StatusUnauthorized, "%s", auth.ErrBadCredentials.Error())
		}
		return nil, nil, fmt.Errorf("login: %w", err)
	}
	s.log.Info("login", "user", p.Username)
	return p, s.sessionCookie(r, token, exp), nil
}

// sessionCookie is the session cookie holding token until exp; an empty
// token deletes it.
func (s *Server) sessionCookie(r *http.Request, token string, exp time.Time) *http.Cookie {
	c := &http.Cookie{Name: sessionCookie, Value: token, Path: "/", Expires: exp, HttpOnly: true, Secure: s.opts.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode}
	if token == "" {
		c.Expires, c.MaxAge = time.Time{}, -1
	}
	return c
}

func (s *Server) apiLogin(r *http.Request) (any, error) {
	var req loginRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	p, cookie, err := s.login(r, req.Username, req.Password)
	if err != nil {
		return nil, err
	}
	u, err := s.st.UserByID(r.Context(), p.UserID)
	if err != nil {
		return nil, err
	}
	return answer{body: userOut(u), cookies: []*http.Cookie{cookie}}, nil
}

// logout ends the caller's session and returns the cookie that deletes it.
func (s *Server) logout(r *http.Request) *http.Cookie {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.auth.Logout(r.Context(), c.Value)
	}
	return s.sessionCookie(r, "", time.Time{})
}

func (s *Server) apiLogout(r *http.Request) (any, error) {
	a := noContent()
	a.cookies = []*http.Cookie{s.logout(r)}
	return a, nil
}

func (s *Server) apiMe(r *http.Request) (any, error) {
	u, err := s.st.UserByID(r.Context(), principal(r).UserID)
	if err != nil {
		return nil, err
	}
	return userOut(u), nil
}

type passwordChange struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
}

// changePassword changes the caller's password after checking the current
// one.
func (s *Server) changePassword(r *http.Request, pc passwordChange) error {
	u, err := s.st.UserByID(r.Context(), principal(r).UserID)
	if err != nil {
		return err
	}
	// Limited per account: a stolen session must not guess the password.
	if err := admit(r.Context(), s.passwordLimit, strconv.FormatInt(u.ID, 10), "password change attempts"); err != nil {
		return err
	}
	ok, err := s.auth.Verify(r.Context(), u.PasswordHash, pc.Current)
	if errors.Is(err, auth.ErrBusy) {
		return err
	}
	if !ok {
		return store.Invalid(errors.New("current_password: does not match"))
	}
	if err := auth.ValidatePassword(pc.New); err != nil {
		return store.Invalid(fmt.Errorf("new_password: %w", err))
	}
	hash, err := s.auth.Hash(r.Context(), pc.New)
	if err != nil {
		return err
	}
	return s.st.UpdateUser(r.Context(), u.ID, store.UserUpdate{PasswordHash: &hash})
}

func (s *Server) apiChangePassword(r *http.Request) (any, error) {
	var pc passwordChange
	if err := decode(r, &pc); err != nil {
		return nil, err
	}
	if err := s.changePassword(r, pc); err != nil {
		return nil, err
	}
	return noContent(), nil
}
