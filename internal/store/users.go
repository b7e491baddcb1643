package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// User is a server account. PasswordHash is an encoded hash, never a
// password.
type User struct {
	ID           int64
	Username     string
	Role         string
	PasswordHash string
	Disabled     bool
	Created      time.Time
	Updated      time.Time
	Grants       []Grant
}

// Grant gives a user a permission ("assess") within a scope ("*",
// "feed:<name>", "project:<name>").
type Grant struct {
	Permission string `json:"permission"`
	Scope      string `json:"scope"`
}

// APIKey describes a stored API key; the key itself is never kept.
type APIKey struct {
	ID       int64
	UserID   int64
	Name     string
	Prefix   string
	Created  time.Time
	LastUsed time.Time
}

// CountUsers returns the number of accounts.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM app_user`).Scan(&n)
	return n, err
}

// CreateUser inserts a user with its grants and returns its ID.
func (s *Store) CreateUser(ctx context.Context, u User) (int64, error) {
	now := fmtTime(time.Now())
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.Rebind(`INSERT INTO app_user (username, role, password_hash, disabled, created, updated) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			u.Username, u.Role, u.PasswordHash, srvBool(u.Disabled), now, now).Scan(&id)
		if isUniqueViolation(err) {
			return fmt.Errorf("user %q: %w", u.Username, ErrConflict)
		}
		if err != nil {
			return err
		}
		return s.replaceGrants(ctx, tx, id, u.Grants)
	})
	return id, err
}

func srvBool(b bool) int {
	if b {
		return 1
	}
	return 0
}

const userCols = `id, username, role, password_hash, disabled, created, updated`

func scanUser(r scanner) (User, error) {
	var u User
	var dis int
	var created, updated string
	err := r.Scan(&u.ID, &u.Username, &u.Role, &u.PasswordHash, &dis, &created, &updated)
	u.Disabled, u.Created, u.Updated = dis != 0, parseTime(created), parseTime(updated)
	return u, err
}

// UserByID returns a user with its grants.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	return s.userWhere(ctx, `id = ?`, id)
}

// UserByName returns a user with its grants.
func (s *Store) UserByName(ctx context.Context, username string) (User, error) {
	return s.userWhere(ctx, `username = ?`, username)
}

func (s *Store) userWhere(ctx context.Context, where string, arg any) (User, error) {
	u, err := scanUser(s.queryRowCached(ctx, s.Rebind(`SELECT `+userCols+` FROM app_user WHERE `+where), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %v: %w", arg, ErrNotFound)
	}
	if err != nil {
		return User{}, err
	}
	u.Grants, err = s.grants(ctx, u.ID)
	return u, err
}

// Users lists every user with its grants, by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM app_user ORDER BY username`)
	if err != nil {
		return nil, err
	}
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Grants, err = s.grants(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) grants(ctx context.Context, id int64) ([]Grant, error) {
	rows, err := s.queryCached(ctx, s.Rebind(`SELECT permission, scope FROM user_grant WHERE user_id = ? ORDER BY permission, scope`), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Grant{}
	for rows.Next() {
		var g Grant
		if err := rows.Scan(&g.Permission, &g.Scope); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func (s *Store) replaceGrants(ctx context.Context, tx *sql.Tx, id int64, gs []Grant) error {
	if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM user_grant WHERE user_id = ?`), id); err != nil {
		return err
	}
	seen := map[Grant]bool{}
	for _, g := range gs {
		if seen[g] {
			continue
		}
		seen[g] = true
		if _, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO user_grant (user_id, permission, scope) VALUES (?, ?, ?)`), id, g.Permission, g.Scope); err != nil {
			return err
		}
	}
	return nil
}

// UserUpdate lists the fields to change; nil leaves a field as it is.
type UserUpdate struct {
	Role         *string
	PasswordHash *string
	Disabled     *bool
	Grants       *[]Grant
}

// UpdateUser changes a user. Changing the password or disabling the
// account ends its sessions.
func (s *Store) UpdateUser(ctx context.Context, id int64, up UserUpdate) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM app_user WHERE id = ?`), id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("user %d: %w", id, ErrNotFound)
		}
		now := fmtTime(time.Now())
		set := func(col string, v any) error {
			_, err := tx.ExecContext(ctx, s.Rebind(`UPDATE app_user SET `+col+` = ?, updated = ? WHERE id = ?`), v, now, id)
			return err
		}
		if up.Role != nil {
			if err := set("role", *up.Role); err != nil {
				return err
			}
		}
		endSessions := false
		if up.PasswordHash != nil {
			if err := set("password_hash", *up.PasswordHash); err != nil {
				return err
			}
			endSessions = true
		}
		if up.Disabled != nil {
			if err := set("disabled", srvBool(*up.Disabled)); err != nil {
				return err
			}
			endSessions = endSessions || *up.Disabled
		}
		if up.Grants != nil {
			if err := s.replaceGrants(ctx, tx, id, *up.Grants); err != nil {
				return err
			}
		}
		if endSessions {
			if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM user_session WHERE user_id = ?`), id); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteUser removes a user with its sessions, keys and grants.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM user_grant WHERE user_id = ?`, `DELETE FROM user_session WHERE user_id = ?`, `DELETE FROM api_key WHERE user_id = ?`} {
			if _, err := tx.ExecContext(ctx, s.Rebind(q), id); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM app_user WHERE id = ?`), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("user %d: %w", id, ErrNotFound)
		}
		return nil
	})
}

// CreateSession stores a session by the hash of its token.
func (s *Store) CreateSession(ctx context.Context, tokenHash string, userID int64, expires time.Time) error {
	_, err := s.exec(ctx, s.Rebind(`INSERT INTO user_session (token_hash, user_id, created, expires) VALUES (?, ?, ?, ?)`),
		tokenHash, userID, fmtTime(time.Now()), fmtTime(expires))
	return err
}

// SessionUser returns the user of an unexpired session.
func (s *Store) SessionUser(ctx context.Context, tokenHash string, now time.Time) (User, error) {
	var uid int64
	var exp string
	err := s.queryRowCached(ctx, s.Rebind(`SELECT user_id, expires FROM user_session WHERE token_hash = ?`), tokenHash).Scan(&uid, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, err
	}
	if !parseTime(exp).After(now) {
		s.DeleteSession(ctx, tokenHash)
		return User{}, fmt.Errorf("session expired: %w", ErrNotFound)
	}
	return s.UserByID(ctx, uid)
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := s.exec(ctx, s.Rebind(`DELETE FROM user_session WHERE token_hash = ?`), tokenHash)
	return err
}

// DeleteExpiredSessions removes sessions that ended before now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	_, err := s.exec(ctx, s.Rebind(`DELETE FROM user_session WHERE expires < ?`), fmtTime(now))
	return err
}

// CreateAPIKey stores a key by its hash and returns the key's ID.
func (s *Store) CreateAPIKey(ctx context.Context, userID int64, name, prefix, keyHash string) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, s.Rebind(`INSERT INTO api_key (user_id, name, prefix, key_hash, created) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		userID, name, prefix, keyHash, fmtTime(time.Now())).Scan(&id)
	return id, err
}

// APIKeys lists a user's keys.
func (s *Store) APIKeys(ctx context.Context, userID int64) ([]APIKey, error) {
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT id, user_id, name, prefix, created, last_used FROM api_key WHERE user_id = ? ORDER BY id`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []APIKey{}
	for rows.Next() {
		var k APIKey
		var created, used string
		if err := rows.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &created, &used); err != nil {
			return nil, err
		}
		k.Created, k.LastUsed = parseTime(created), parseTime(used)
		out = append(out, k)
	}
	return out, rows.Err()
}

// DeleteAPIKey revokes one of a user's keys.
func (s *Store) DeleteAPIKey(ctx context.Context, userID, keyID int64) error {
	res, err := s.exec(ctx, s.Rebind(`DELETE FROM api_key WHERE id = ? AND user_id = ?`), keyID, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("api key %d: %w", keyID, ErrNotFound)
	}
	return nil
}

// APIKeyUser returns the owner of a key by the key's hash and records its use.
func (s *Store) APIKeyUser(ctx context.Context, keyHash string, now time.Time) (User, error) {
	var id, uid int64
	var used string
	err := s.queryRowCached(ctx, s.Rebind(`SELECT id, user_id, last_used FROM api_key WHERE key_hash = ?`), keyHash).Scan(&id, &uid, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("api key: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, err
	}
	// last_used is kept to the minute: a write on every request
	// serialized busy API clients on the database's write lock. Of the
	// requests that find it a minute old, only the first (in this
	// process) writes it: when all of them did, 200 clients sharing a
	// key queued once a minute on that lock, SQLite's busy handler
	// sleeping between their tries, and requests took up to a second.
	if now.Sub(parseTime(used)) >= time.Minute && s.keyUses.claim(id, now) {
		if _, err := s.exec(ctx, s.Rebind(`UPDATE api_key SET last_used = ? WHERE id = ?`), fmtTime(now), id); err != nil {
			return User{}, err
		}
	}
	return s.UserByID(ctx, uid)
}

// keyUses remembers when this process last wrote each API key's
// last_used (APIKeyUser).
type keyUses struct {
	mu sync.Mutex
	at map[int64]time.Time
}

// maxKeyUses bounds keyUses; past it the map starts over (a key's next
// use may then write once more).
const maxKeyUses = 10000

// claim tells whether the use of key id at now is the one to write: no
// other use in the minute before it was.
func (k *keyUses) claim(id int64, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if last, ok := k.at[id]; ok && now.Sub(last) < time.Minute && !now.Before(last) {
		return false
	}
	if k.at == nil || len(k.at) >= maxKeyUses {
		k.at = map[int64]time.Time{}
	}
	k.at[id] = now
	return true
}
