package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The grants of a feed's scope: its assessors ("assess") and approvers
// ("approve"), held as user_grant rows of scope "feed:NAME".

// FeedAssessScope is the grant scope of a feed's assessors, "feed:NAME".
func FeedAssessScope(name string) string { return "feed:" + name }

// setFeedGrant makes exactly users (by name) hold the grant perm of scope
// feed:NAME; nil changes nothing.
func (s *Store) setFeedGrant(ctx context.Context, tx *sql.Tx, feed, perm, what string, users []string) error {
	if users == nil {
		return nil
	}
	scope := FeedAssessScope(feed)
	ids := make([]int64, 0, len(users))
	for _, u := range users {
		var id int64
		err := tx.QueryRowContext(ctx, s.Rebind(`SELECT id FROM app_user WHERE username = ?`), u).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return Invalid(fmt.Errorf("%s %q: no such user", what, u))
		}
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if _, err := tx.ExecContext(ctx, s.Rebind(`DELETE FROM user_grant WHERE permission = ? AND scope = ?`), perm, scope); err != nil {
		return err
	}
	seen := map[int64]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if _, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO user_grant (user_id, permission, scope) VALUES (?, ?, ?)`), id, perm, scope); err != nil {
			return err
		}
	}
	return nil
}

// FeedApprovers lists the users (by name) holding the "approve" grant of
// scope "feed:NAME" itself (not "*").
func (s *Store) FeedApprovers(ctx context.Context, name string) ([]string, error) {
	return s.feedGrantHolders(ctx, name, "approve")
}

// FeedAssessors lists the users (by name) holding the "assess" grant of
// scope "feed:NAME" itself (not "*").
func (s *Store) FeedAssessors(ctx context.Context, name string) ([]string, error) {
	return s.feedGrantHolders(ctx, name, "assess")
}

func (s *Store) feedGrantHolders(ctx context.Context, name, perm string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT u.username FROM user_grant g JOIN app_user u ON u.id = g.user_id
		WHERE g.permission = ? AND g.scope = ? ORDER BY u.username`), perm, FeedAssessScope(name))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
