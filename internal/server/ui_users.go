package server

import (
	"net/http"
	"strings"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
)

// userPages: Administration › Users, with their API keys.
func (s *Server) userPages() []route {
	return []route{
		s.plain("GET /admin/users", auth.Admin, s.uiUsers),
		s.plain("POST /admin/users", auth.Admin, s.uiCreateUser),
		s.plain("POST /admin/users/{id}", auth.Admin, s.uiUpdateUser),
		s.plain("POST /admin/users/{id}/delete", auth.Admin, s.uiDeleteUser),
		s.plain("POST /admin/users/{id}/keys", auth.Admin, s.uiCreateKey),
		s.plain("POST /admin/users/{id}/keys/{key}/delete", auth.Admin, s.uiDeleteKey),
	}
}

type userView struct {
	userJSON
	Keys []store.APIKey
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, status int, extra map[string]any, errMsg string) {
	us, err := s.st.Users(r.Context())
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	var views []userView
	for _, u := range us {
		keys, err := s.st.APIKeys(r.Context(), u.ID)
		if err != nil {
			s.uiFail(w, r, err, nil)
			return
		}
		views = append(views, userView{userJSON: userOut(u), Keys: keys})
	}
	data := map[string]any{"Users": views, "Roles": auth.Roles}
	for k, v := range extra {
		data[k] = v
	}
	s.render(w, r, status, "users", "Users", data, errMsg)
}

func (s *Server) uiUsers(w http.ResponseWriter, r *http.Request) {
	s.usersPage(w, r, http.StatusOK, nil, "")
}

func parseGrants(s string) []store.Grant {
	gs := []store.Grant{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			gs = append(gs, store.Grant{Permission: auth.PermAssess, Scope: p})
		}
	}
	return gs
}

// uiUserFail re-renders the users page with a caller's mistake.
func (s *Server) uiUserFail(w http.ResponseWriter, r *http.Request, err error) {
	s.uiFail(w, r, err, func(status int, msg string) { s.usersPage(w, r, status, nil, msg) })
}

func (s *Server) uiCreateUser(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	_, err := s.createUser(r, userCreate{Username: strings.TrimSpace(r.PostFormValue("username")), Role: r.PostFormValue("role"),
		Password: r.PostFormValue("password"), Grants: parseGrants(r.PostFormValue("grants"))})
	if err != nil {
		s.uiUserFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users?ok=created", http.StatusSeeOther)
}

func (s *Server) uiUpdateUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	r.ParseForm()
	role := r.PostFormValue("role")
	disabled := r.PostFormValue("disabled") != ""
	grants := parseGrants(r.PostFormValue("grants"))
	up := userPatch{Role: &role, Disabled: &disabled, Grants: &grants}
	if pw := r.PostFormValue("password"); pw != "" {
		up.Password = &pw
	}
	if err := s.updateUser(r, id, up); err != nil {
		s.uiUserFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users?ok=userupdated", http.StatusSeeOther)
}

func (s *Server) uiDeleteUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err == nil {
		err = s.deleteUser(r, id)
	}
	if err != nil {
		s.uiUserFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users?ok=deleted", http.StatusSeeOther)
}

func (s *Server) uiCreateKey(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	r.ParseForm()
	k, err := s.createKey(r, id, r.PostFormValue("name"))
	if err != nil {
		s.uiUserFail(w, r, err)
		return
	}
	u, _ := s.st.UserByID(r.Context(), id)
	// The key is rendered into this response only; it is never stored.
	s.usersPage(w, r, http.StatusOK, map[string]any{"NewKey": k, "NewKeyUser": u.Username}, "")
}

func (s *Server) uiDeleteKey(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	kid, err := pathID(r, "key")
	if err == nil {
		err = s.st.DeleteAPIKey(r.Context(), id, kid)
	}
	if err != nil {
		s.uiFail(w, r, err, nil)
		return
	}
	http.Redirect(w, r, "/admin/users?ok=revoked", http.StatusSeeOther)
}
