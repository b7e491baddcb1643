package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file holds the SQL of notifications (internal/notify): rules and
// the delivery log. What an event is and how it is delivered lives in
// internal/notify.

// NotifyRule is one notification rule as stored.
type NotifyRule struct {
	ID          int64
	Name        string
	Event       string
	Scope       string // "" any, "project:NAME", "feed:NAME", "project:*", "feed:*"
	MinSeverity string // for new findings: LOW, MEDIUM, HIGH, CRITICAL ("" any)
	Days        int    // for expiring assessments
	Kind        string // webhook, slack, teams, email
	URL         string
	Secret      string // sealed
	Recipients  []string
	Enabled     bool
	Created     time.Time
	Updated     time.Time
}

const ruleCols = `id, name, event, scope, min_severity, days, kind, url, secret, recipients, enabled, created, updated`

func scanRule(r scanner) (NotifyRule, error) {
	var x NotifyRule
	var rec, created, updated string
	var en int
	err := r.Scan(&x.ID, &x.Name, &x.Event, &x.Scope, &x.MinSeverity, &x.Days, &x.Kind, &x.URL, &x.Secret, &rec, &en, &created, &updated)
	x.Recipients, x.Enabled, x.Created, x.Updated = splitList(rec, ","), en != 0, parseTime(created), parseTime(updated)
	return x, err
}

// NotifyRules lists the rules by name.
func (s *Store) NotifyRules(ctx context.Context) ([]NotifyRule, error) {
	return queryAll(ctx, s.db, `SELECT `+ruleCols+` FROM notify_rule ORDER BY name`, nil, scanRule)
}

// NotifyRule returns one rule, or an error wrapping ErrNotFound.
func (s *Store) NotifyRule(ctx context.Context, id int64) (NotifyRule, error) {
	x, err := scanRule(s.db.QueryRowContext(ctx, s.Rebind(`SELECT `+ruleCols+` FROM notify_rule WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return x, fmt.Errorf("notification rule %d: %w", id, ErrNotFound)
	}
	return x, err
}

// SaveNotifyRule creates (ID 0) or updates a rule and returns its id. A
// taken name gives an error wrapping ErrConflict ("already exists").
func (s *Store) SaveNotifyRule(ctx context.Context, x NotifyRule, now time.Time) (int64, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var other int64
		err := tx.QueryRowContext(ctx, s.Rebind(`SELECT id FROM notify_rule WHERE name = ?`), x.Name).Scan(&other)
		if err == nil && other != x.ID {
			return fmt.Errorf("notification rule %q: %w", x.Name, ErrConflict)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		args := []any{x.Name, x.Event, x.Scope, x.MinSeverity, x.Days, x.Kind, x.URL, x.Secret, strings.Join(x.Recipients, ","), boolInt(x.Enabled), fmtTime(now)}
		if x.ID == 0 {
			return tx.QueryRowContext(ctx, s.Rebind(`INSERT INTO notify_rule (name, event, scope, min_severity, days, kind, url, secret, recipients, enabled, updated, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
				append(args, fmtTime(now))...).Scan(&x.ID)
		}
		res, err := tx.ExecContext(ctx, s.Rebind(`UPDATE notify_rule SET name = ?, event = ?, scope = ?, min_severity = ?, days = ?, kind = ?, url = ?, secret = ?, recipients = ?, enabled = ?, updated = ? WHERE id = ?`), append(args, x.ID)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("notification rule %d: %w", x.ID, ErrNotFound)
		}
		return nil
	})
	return x.ID, err
}

// DeleteNotifyRule removes a rule (its deliveries stay in the log).
func (s *Store) DeleteNotifyRule(ctx context.Context, id int64) error {
	res, err := s.exec(ctx, s.Rebind(`DELETE FROM notify_rule WHERE id = ?`), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("notification rule %d: %w", id, ErrNotFound)
	}
	return nil
}

// NotifyDelivery is one row of the delivery log.
type NotifyDelivery struct {
	ID        int64
	RuleID    int64
	RuleName  string
	Event     string
	Subject   string
	Status    string // queued, sending, retrying, sent, failed, interrupted
	Attempts  int
	LastError string
	Dedupe    string
	// Payload is the event to deliver (JSON), kept so that another
	// process can finish an interrupted delivery.
	Payload string
	// Owner is the process sending it (set by StartDelivery and
	// ClaimDeliveries; empty while queued).
	Owner   string
	Created time.Time
	Updated time.Time
}

// Delivery statuses that are not final.
const (
	DeliveryQueued   = "queued"
	DeliverySending  = "sending"
	DeliveryRetrying = "retrying"
)

const deliveryCols = `id, rule_id, rule_name, event, subject, status, attempts, last_error, dedupe, payload, owner, created, updated`

func scanDelivery(r scanner) (NotifyDelivery, error) {
	var d NotifyDelivery
	var c, u string
	err := r.Scan(&d.ID, &d.RuleID, &d.RuleName, &d.Event, &d.Subject, &d.Status, &d.Attempts, &d.LastError, &d.Dedupe, &d.Payload, &d.Owner, &c, &u)
	d.Created, d.Updated = parseTime(c), parseTime(u)
	return d, err
}

// StartDelivery logs a delivery: about to be attempted by this process
// (status sending; Owner defaults to this process), or queued for
// whichever process claims it. With a dedupe key already logged for the
// rule, it reports false and logs nothing.
func (s *Store) StartDelivery(ctx context.Context, d NotifyDelivery, now time.Time) (int64, bool, error) {
	var id int64
	ok := true
	if d.Owner == "" && d.Status != DeliveryQueued {
		d.Owner = processOwner()
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if d.Dedupe != "" {
			var n int
			if err := tx.QueryRowContext(ctx, s.Rebind(`SELECT COUNT(*) FROM notify_delivery WHERE rule_id = ? AND dedupe = ?`), d.RuleID, d.Dedupe).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				ok = false
				return nil
			}
		}
		return tx.QueryRowContext(ctx, s.Rebind(`INSERT INTO notify_delivery (rule_id, rule_name, event, subject, status, attempts, last_error, dedupe, payload, owner, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			d.RuleID, d.RuleName, d.Event, d.Subject, d.Status, d.Attempts, d.LastError, d.Dedupe, d.Payload, d.Owner, fmtTime(now), fmtTime(now)).Scan(&id)
	})
	return id, ok, err
}

// UpdateDelivery records an attempt's outcome. A queued status gives the
// delivery up for another process to claim.
func (s *Store) UpdateDelivery(ctx context.Context, id int64, status string, attempts int, lastError string, now time.Time) error {
	owner := processOwner()
	if status == DeliveryQueued {
		owner = ""
	}
	_, err := s.exec(ctx, s.Rebind(`UPDATE notify_delivery SET status = ?, attempts = ?, last_error = ?, owner = ?, updated = ? WHERE id = ?`), status, attempts, lastError, owner, fmtTime(now), id)
	return err
}

// ClaimDeliveries takes up to limit unfinished deliveries for this
// process, oldest first: queued ones, and those being sent or retried by
// a process that is gone (a dead process on this host, or no progress
// since staleBefore). Each is claimed with a compare-and-set, so two
// processes never take the same row. Rows without a payload (logged
// before payloads were kept) cannot be sent again: they are marked
// interrupted.
func (s *Store) ClaimDeliveries(ctx context.Context, staleBefore time.Time, limit int, now time.Time) ([]NotifyDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	cands, err := queryAll(ctx, s.db, s.Rebind(`SELECT `+deliveryCols+` FROM notify_delivery WHERE status IN (?, ?, ?) ORDER BY id LIMIT ?`),
		[]any{DeliveryQueued, DeliverySending, DeliveryRetrying, 10 * limit}, scanDelivery)
	if err != nil {
		return nil, err
	}
	var out []NotifyDelivery
	for _, d := range cands {
		if len(out) == limit {
			break
		}
		gone := d.Status == DeliveryQueued || ownerDead(d.Owner) || d.Updated.Before(staleBefore)
		if !gone {
			continue
		}
		status, owner, msg := DeliverySending, processOwner(), d.LastError
		if d.Payload == "" {
			status, owner, msg = "interrupted", "", "interrupted: the process sending it stopped"
		}
		res, err := s.exec(ctx, s.Rebind(`UPDATE notify_delivery SET status = ?, owner = ?, last_error = ?, updated = ? WHERE id = ? AND status = ? AND owner = ? AND updated = ?`),
			status, owner, msg, fmtTime(now), d.ID, d.Status, d.Owner, fmtTime(d.Updated))
		if err != nil {
			return out, err
		}
		if n, _ := res.RowsAffected(); n == 1 && d.Payload != "" {
			d.Status, d.Owner, d.Updated = status, owner, now
			out = append(out, d)
		}
	}
	return out, nil
}

// PruneDeliveries deletes finished deliveries last changed before before
// (the log is kept bounded in time); it returns how many.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, s.Rebind(`DELETE FROM notify_delivery WHERE status NOT IN (?, ?, ?) AND updated < ?`), DeliveryQueued, DeliverySending, DeliveryRetrying, fmtTime(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// NotifyDeliveries returns the newest deliveries first, at most limit.
func (s *Store) NotifyDeliveries(ctx context.Context, limit int) ([]NotifyDelivery, error) {
	return queryAll(ctx, s.db, s.Rebind(`SELECT `+deliveryCols+` FROM notify_delivery ORDER BY id DESC LIMIT ?`), []any{limit}, scanDelivery)
}
