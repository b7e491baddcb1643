package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Grants held by an exact set of users for one scope (a project's upload
// grant and the like); a feed's grants are in feedgrants.go.

// SetGrantHolders makes exactly the named users hold the grant (perm,
// scope), in one transaction; an unknown user is the caller's mistake
// (ErrInvalid) and changes nothing.
func (s *Store) SetGrantHolders(ctx context.Context, perm, scope string, users []string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		ids := map[int64]bool{}
		for _, u := range users {
			var id int64
			err := tx.QueryRowContext(ctx, s.Rebind(`SELECT id FROM app_user WHERE username = ?`), u).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				return Invalid(fmt.Errorf("user %q: no such user", u))
			}
			if err != nil {
				return err
			}
			ids[id] = true
		}
		if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM user_grant WHERE permission = ? AND scope = ?`), perm, scope); err != nil {
			return err
		}
		for id := range ids {
			if _, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO user_grant (user_id, permission, scope) VALUES (?, ?, ?)`), id, perm, scope); err != nil {
				return err
			}
		}
		return nil
	})
}

// GrantHolders lists the users (by name) holding the grant (perm, scope)
// itself (not "*").
func (s *Store) GrantHolders(ctx context.Context, perm, scope string) ([]string, error) {
	out, err := queryAll(ctx, s.db, s.Rebind(`SELECT u.username FROM user_grant g JOIN app_user u ON u.id = g.user_id WHERE g.permission = ? AND g.scope = ? ORDER BY u.username`),
		[]any{perm, scope}, func(r scanner) (string, error) {
			var u string
			return u, r.Scan(&u)
		})
	if out == nil {
		out = []string{}
	}
	return out, err
}
