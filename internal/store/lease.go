package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Leases (table job_lease) make a named piece of work run on one instance
// at a time when several share one database. Times are Unix milliseconds
// on the database's clock, so the instances' clocks do not matter.

// Lease is the state of one lease.
type Lease struct {
	Name      string
	Holder    string
	ExpiresAt time.Time
	RunID     int64
}

// ErrLeaseHeld is returned when another holder has a live lease.
var ErrLeaseHeld = errors.New("lease held by another instance")

// ErrLeaseLost is returned by RenewLease when the lease expired and was
// taken over (or deleted) since the holder last renewed it.
var ErrLeaseLost = errors.New("lease lost")

// NewLeaseHolder returns a holder name unique to this process and call:
// host:pid:token:random (see processOwner). A lease whose holder is a
// process of this host that is gone counts as expired (a crashed
// instance restarted on the same host takes its jobs over at once).
func NewLeaseHolder() string {
	var b [4]byte
	rand.Read(b[:])
	return processOwner() + ":" + hex.EncodeToString(b[:])
}

// nowMillis is the database's clock in Unix milliseconds.
func (s *Store) nowMillis() string {
	if s.dialect == Postgres {
		return `CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)`
	}
	return `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`
}

// AcquireLease takes the lease name for holder for ttl when it is free,
// expired, already holder's, or held by a process of this host that is
// gone. When another holder has it, it returns that holder's lease and
// ErrLeaseHeld.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	now := s.nowMillis()
	q := `INSERT INTO job_lease (name, holder, expires_at, acquired_at, run_id) VALUES (?, ?, ` + now + ` + ?, ` + now + `, 0)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, acquired_at = excluded.acquired_at, run_id = 0
WHERE job_lease.expires_at < ` + now + ` OR job_lease.holder = excluded.holder
RETURNING expires_at`
	var exp int64
	err := s.db.QueryRowContext(ctx, s.Rebind(q), name, holder, ttl.Milliseconds()).Scan(&exp)
	if err == nil {
		return Lease{Name: name, Holder: holder, ExpiresAt: time.UnixMilli(exp).UTC()}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Lease{}, fmt.Errorf("lease %s: %w", name, err)
	}
	l, ok, err := s.LeaseState(ctx, name)
	if err != nil {
		return Lease{}, err
	}
	if !ok { // released between the two statements: try once more
		return s.AcquireLease(ctx, name, holder, ttl)
	}
	if ownerDead(l.Holder) { // its process on this host is gone
		if _, err := s.exec(ctx, s.Rebind(`DELETE FROM job_lease WHERE name = ? AND holder = ?`), name, l.Holder); err != nil {
			return Lease{}, fmt.Errorf("lease %s: %w", name, err)
		}
		return s.AcquireLease(ctx, name, holder, ttl)
	}
	return l, fmt.Errorf("%s: %w (%s)", name, ErrLeaseHeld, l.Holder)
}

// RenewLease extends holder's lease by ttl from now and records runID
// when it is not 0. It returns ErrLeaseLost when holder no longer has it.
func (s *Store) RenewLease(ctx context.Context, name, holder string, ttl time.Duration, runID int64) error {
	now := s.nowMillis()
	res, err := s.exec(ctx, s.Rebind(`UPDATE job_lease SET expires_at = `+now+` + ?, run_id = CASE WHEN ? <> 0 THEN ? ELSE run_id END WHERE name = ? AND holder = ?`),
		ttl.Milliseconds(), runID, runID, name, holder)
	if err != nil {
		return fmt.Errorf("lease %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", name, ErrLeaseLost)
	}
	return nil
}

// ReleaseLease gives up holder's lease; releasing a lease one does not
// hold does nothing.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.exec(ctx, s.Rebind(`DELETE FROM job_lease WHERE name = ? AND holder = ?`), name, holder)
	if err != nil {
		return fmt.Errorf("lease %s: %w", name, err)
	}
	return nil
}

// LeaseState returns the live lease name, reporting false when there is
// none (never taken, released or expired).
func (s *Store) LeaseState(ctx context.Context, name string) (Lease, bool, error) {
	return leaseState(ctx, s, s.db, name)
}
