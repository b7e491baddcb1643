package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file holds the SQL of package approval (internal/approval): the
// approval state of package versions per feed and its audit events.

// Approval states.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRevoked  = "revoked"
)

// FeedApproval is the approval state of one package version in a feed.
type FeedApproval struct {
	Feed, PURL, Ecosystem, Name, Version string
	Status                               string // pending, approved, revoked
	RequestedAt                          time.Time
	RequestedBy                          string // the client that asked first
	Requests                             int64  // refused downloads that asked for it
	DecidedAt                            time.Time
	DecidedBy                            string
	Comment                              string
}

// FeedApprovalEvent is one audited approval action.
type FeedApprovalEvent struct {
	Seq                       int64
	Feed, PURL, Action, Actor string // action: request, approve, revoke
	Comment                   string
	At                        time.Time
}

const approvalCols = `feed, purl, ecosystem, name, version, status, requested_at, requested_by, requests, decided_at, decided_by, comment`

func scanApproval(r scanner) (FeedApproval, error) {
	var a FeedApproval
	var req, dec string
	err := r.Scan(&a.Feed, &a.PURL, &a.Ecosystem, &a.Name, &a.Version, &a.Status, &req, &a.RequestedBy, &a.Requests, &dec, &a.DecidedBy, &a.Comment)
	a.RequestedAt, a.DecidedAt = parseTime(req), parseTime(dec)
	return a, err
}

// FeedApproval returns the approval state of purl in feed; ok is false
// when there is none.
func (s *Store) FeedApproval(ctx context.Context, feed, purl string) (a FeedApproval, ok bool, err error) {
	a, err = scanApproval(s.db.QueryRowContext(ctx, s.Rebind(`SELECT `+approvalCols+` FROM feed_approval WHERE feed = ? AND purl = ?`), feed, purl))
	if errors.Is(err, sql.ErrNoRows) {
		return FeedApproval{}, false, nil
	}
	return a, err == nil, err
}

// RequestFeedApproval records that a refused download asked for a.PURL:
// a new pending row (with a "request" event) unless the feed already has
// maxPending pending ones, else the request count of the existing row
// grows (a revoked version is pending again). queued reports whether the
// version is now pending.
func (s *Store) RequestFeedApproval(ctx context.Context, a FeedApproval, maxPending int) (queued bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		queued = false
		at := fmtTime(a.RequestedAt)
		var status string
		err := tx.QueryRowContext(ctx, s.Rebind(`SELECT status FROM feed_approval WHERE feed = ? AND purl = ?`), a.Feed, a.PURL).Scan(&status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case status == ApprovalPending:
			queued = true
			_, err := tx.ExecContext(ctx, s.Rebind(`UPDATE feed_approval SET requests = requests + 1 WHERE feed = ? AND purl = ?`), a.Feed, a.PURL)
			return err
		case status == ApprovalApproved:
			return nil
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM feed_approval WHERE feed = ? AND status = ?`), a.Feed, ApprovalPending).Scan(&n); err != nil {
			return err
		}
		if n >= maxPending {
			return nil
		}
		if status == "" {
			if ok, err := s.feedExists(ctx, tx, a.Feed); err != nil || !ok {
				return err // nothing when the feed was deleted meanwhile
			}
			if _, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO feed_approval (`+approvalCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, '', '', '')`),
				a.Feed, a.PURL, a.Ecosystem, a.Name, a.Version, ApprovalPending, at, a.RequestedBy); err != nil {
				return err
			}
		} else if _, err := tx.ExecContext(ctx, s.Rebind(`UPDATE feed_approval SET status = ?, requested_at = ?, requested_by = ?, requests = requests + 1 WHERE feed = ? AND purl = ?`),
			ApprovalPending, at, a.RequestedBy, a.Feed, a.PURL); err != nil {
			return err
		}
		queued = true
		return s.approvalEvent(ctx, tx, a.Feed, a.PURL, "request", a.RequestedBy, "", at)
	})
	return queued, err
}

func (s *Store) approvalEvent(ctx context.Context, tx *sql.Tx, feed, purl, action, actor, comment, at string) error {
	_, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO feed_approval_event (feed, purl, action, actor, comment, at) VALUES (?, ?, ?, ?, ?, ?)`),
		feed, purl, action, actor, comment, at)
	return err
}

// DecideFeedApprovals sets the status of package versions of a feed
// (approved or revoked) by actor, with one event each, in one
// transaction. Versions not in the table yet are added (pkgs gives their
// identity). Revoking a version that has no row is an error wrapping
// ErrNotFound.
func (s *Store) DecideFeedApprovals(ctx context.Context, feed string, pkgs []FeedApproval, status, actor, comment string, now time.Time) error {
	if status != ApprovalApproved && status != ApprovalRevoked {
		return Invalid(fmt.Errorf("approval status %q: want approved or revoked", status))
	}
	action := map[string]string{ApprovalApproved: "approve", ApprovalRevoked: "revoke"}[status]
	at := fmtTime(now)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if ok, err := s.feedExists(ctx, tx, feed); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("feed %q: %w", feed, ErrNotFound)
		}
		for _, p := range pkgs {
			res, err := tx.ExecContext(ctx, s.Rebind(`UPDATE feed_approval SET status = ?, decided_at = ?, decided_by = ?, comment = ? WHERE feed = ? AND purl = ?`),
				status, at, actor, comment, feed, p.PURL)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				if status == ApprovalRevoked {
					return fmt.Errorf("%s has no approval in feed %s: %w", p.PURL, feed, ErrNotFound)
				}
				if _, err := tx.ExecContext(ctx, s.Rebind(`INSERT INTO feed_approval (`+approvalCols+`) VALUES (?, ?, ?, ?, ?, ?, '', '', 0, ?, ?, ?)`),
					feed, p.PURL, p.Ecosystem, p.Name, p.Version, status, at, actor, comment); err != nil {
					return err
				}
			}
			if err := s.approvalEvent(ctx, tx, feed, p.PURL, action, actor, comment, at); err != nil {
				return err
			}
		}
		return nil
	})
}

// FeedApprovalPage returns one page of a feed's approvals, optionally of
// one status, pending ones oldest request first, others most recently
// decided first, and how many there are.
func (s *Store) FeedApprovalPage(ctx context.Context, feed, status string, offset, limit int) ([]FeedApproval, int, error) {
	where, args := ` WHERE feed = ?`, []any{feed}
	if status != "" {
		where += ` AND status = ?`
		args = append(args, status)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM feed_approval`+where), args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	order := ` ORDER BY decided_at DESC, purl`
	if status == ApprovalPending {
		order = ` ORDER BY requested_at, purl`
	}
	rows, err := s.db.QueryContext(ctx, s.Rebind(`SELECT `+approvalCols+` FROM feed_approval`+where+order+` LIMIT ? OFFSET ?`), append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []FeedApproval{}
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, a)
	}
	return out, total, rows.Err()
}

// FeedApprovalEvents returns a feed's approval events, newest first, at
// most limit, optionally of one package version.
func (s *Store) FeedApprovalEvents(ctx context.Context, feed, purl string, limit int) ([]FeedApprovalEvent, error) {
	q, args := `SELECT seq, feed, purl, action, actor, comment, at FROM feed_approval_event WHERE feed = ?`, []any{feed}
	if purl = strings.TrimSpace(purl); purl != "" {
		q += ` AND purl = ?`
		args = append(args, purl)
	}
	rows, err := s.db.QueryContext(ctx, s.Rebind(q+` ORDER BY seq DESC LIMIT ?`), append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []FeedApprovalEvent{}
	for rows.Next() {
		var e FeedApprovalEvent
		var at string
		if err := rows.Scan(&e.Seq, &e.Feed, &e.PURL, &e.Action, &e.Actor, &e.Comment, &at); err != nil {
			return nil, err
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Store) feedExists(ctx context.Context, tx *sql.Tx, feed string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM feed WHERE name = ?`), feed).Scan(&n)
	return n > 0, err
}
