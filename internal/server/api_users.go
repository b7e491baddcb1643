package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vulngate/vulngate/internal/auth"
	"github.com/vulngate/vulngate/internal/store"
)

// userRoutes: accounts and their API keys (admins only).
func (s *Server) userRoutes() []route {
	return []route{
		s.api("GET /api/v1/users", auth.Admin, s.apiUsers),
		s.api("POST /api/v1/users", auth.Admin, s.apiCreateUser),
		s.api("GET /api/v1/users/{id}", auth.Admin, s.apiUser),
		s.api("PATCH /api/v1/users/{id}", auth.Admin, s.apiUpdateUser),
		s.api("DELETE /api/v1/users/{id}", auth.Admin, s.apiDeleteUser),
		s.api("GET /api/v1/users/{id}/keys", auth.Admin, s.apiKeys),
		s.api("POST /api/v1/users/{id}/keys", auth.Admin, s.apiCreateKey),
		s.api("DELETE /api/v1/users/{id}/keys/{key}", auth.Admin, s.apiDeleteKey),
	}
}

func (s *Server) apiUsers(r *http.Request) (any, error) {
	us, err := s.st.Users(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]userJSON, 0, len(us))
	for _, u := range us {
		out = append(out, userOut(u))
	}
	return out, nil
}

type userCreate struct {
	Username string        `json:"username"`
	Role     string        `json:"role"`
	Password string        `json:"password"`
	Grants   []store.Grant `json:"grants"`
}

func validateGrants(gs []store.Grant) error {
	for _, g := range gs {
		if err := auth.ValidateGrant(g); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) createUser(r *http.Request, uc userCreate) (store.User, error) {
	if err := auth.ValidateUsername(uc.Username); err != nil {
		return store.User{}, store.Invalid(err)
	}
	role, err := auth.ParseRole(uc.Role)
	if err != nil {
		return store.User{}, store.Invalid(err)
	}
	if err := auth.ValidatePassword(uc.Password); err != nil {
		return store.User{}, store.Invalid(err)
	}
	if err := validateGrants(uc.Grants); err != nil {
		return store.User{}, store.Invalid(err)
	}
	hash, err := s.auth.Hash(r.Context(), uc.Password)
	if err != nil {
		return store.User{}, err
	}
	id, err := s.st.CreateUser(r.Context(), store.User{Username: uc.Username, Role: string(role), PasswordHash: hash, Grants: uc.Grants})
	if err != nil {
		return store.User{}, err
	}
	s.log.Info("user created", "by", principal(r).Username, "user", uc.Username, "role", role)
	return s.st.UserByID(r.Context(), id)
}

func (s *Server) apiCreateUser(r *http.Request) (any, error) {
	var uc userCreate
	if err := decode(r, &uc); err != nil {
		return nil, err
	}
	u, err := s.createUser(r, uc)
	if err != nil {
		return nil, err
	}
	return created(fmt.Sprintf("/api/v1/users/%d", u.ID), userOut(u)), nil
}

func (s *Server) apiUser(r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	u, err := s.st.UserByID(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return userOut(u), nil
}

type userPatch struct {
	Role     *string        `json:"role"`
	Password *string        `json:"password"`
	Disabled *bool          `json:"disabled"`
	Grants   *[]store.Grant `json:"grants"`
}

func (s *Server) updateUser(r *http.Request, id int64, up userPatch) error {
	var su store.UserUpdate
	self := principal(r).UserID == id
	if up.Role != nil {
		role, err := auth.ParseRole(*up.Role)
		if err != nil {
			return store.Invalid(err)
		}
		if self && role != auth.Admin {
			return store.Invalid(errors.New("role: you cannot take the admin role from yourself"))
		}
		rs := string(role)
		su.Role = &rs
	}
	if up.Disabled != nil {
		if self && *up.Disabled {
			return store.Invalid(errors.New("disabled: you cannot disable your own account"))
		}
		su.Disabled = up.Disabled
	}
	if up.Password != nil {
		if err := auth.ValidatePassword(*up.Password); err != nil {
			return store.Invalid(err)
		}
		hash, err := s.auth.Hash(r.Context(), *up.Password)
		if err != nil {
			return err
		}
		su.PasswordHash = &hash
	}
	if up.Grants != nil {
		if err := validateGrants(*up.Grants); err != nil {
			return store.Invalid(err)
		}
		su.Grants = up.Grants
	}
	if err := s.st.UpdateUser(r.Context(), id, su); err != nil {
		return err
	}
	s.log.Info("user updated", "by", principal(r).Username, "user_id", id, "password_changed", up.Password != nil)
	return nil
}

func (s *Server) apiUpdateUser(r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	var up userPatch
	if err := decode(r, &up); err != nil {
		return nil, err
	}
	if err := s.updateUser(r, id, up); err != nil {
		return nil, err
	}
	u, err := s.st.UserByID(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return userOut(u), nil
}

// deleteUser deletes an account other than the caller's.
func (s *Server) deleteUser(r *http.Request, id int64) error {
	if id == principal(r).UserID {
		return store.Invalid(errors.New("you cannot delete your own account"))
	}
	if err := s.st.DeleteUser(r.Context(), id); err != nil {
		return err
	}
	s.log.Info("user deleted", "by", principal(r).Username, "user_id", id)
	return nil
}

func (s *Server) apiDeleteUser(r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	if err := s.deleteUser(r, id); err != nil {
		return nil, err
	}
	return noContent(), nil
}

type keyOut struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	Prefix   string    `json:"prefix"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used,omitzero"`
	// Key is the secret, returned once when the key is created.
	Key string `json:"key,omitempty"`
}

func (s *Server) apiKeys(r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	if _, err := s.st.UserByID(r.Context(), id); err != nil {
		return nil, err
	}
	keys, err := s.st.APIKeys(r.Context(), id)
	if err != nil {
		return nil, err
	}
	out := make([]keyOut, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyOut{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Created: k.Created, LastUsed: k.LastUsed})
	}
	return out, nil
}

type keyCreate struct {
	Name string `json:"name"`
}

func (s *Server) createKey(r *http.Request, userID int64, name string) (keyOut, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return keyOut{}, store.Invalid(errors.New("name: give the key a name of 1-100 characters (e.g. \"ci\")"))
	}
	if _, err := s.st.UserByID(r.Context(), userID); err != nil {
		return keyOut{}, err
	}
	key, prefix, hash := auth.NewAPIKey()
	id, err := s.st.CreateAPIKey(r.Context(), userID, name, prefix, hash)
	if err != nil {
		return keyOut{}, err
	}
	s.log.Info("api key created", "by", principal(r).Username, "user_id", userID, "key_id", id, "name", name)
	return keyOut{ID: id, Name: name, Prefix: prefix, Created: time.Now().UTC(), Key: key}, nil
}

func (s *Server) apiCreateKey(r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	var kc keyCreate
	if err := decode(r, &kc); err != nil {
		return nil, err
	}
	k, err := s.createKey(r, id, kc.Name)
	if err != nil {
		return nil, err
	}
	return answer{status: http.StatusCreated, body: k}, nil
}

func (s *Server) apiDeleteKey(r *http.Request) (any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	kid, err := pathID(r, "key")
	if err != nil {
		return nil, err
	}
	if err := s.st.DeleteAPIKey(r.Context(), id, kid); err != nil {
		return nil, err
	}
	return noContent(), nil
}
