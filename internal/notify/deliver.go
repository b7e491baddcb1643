package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vulngate/vulngate/internal/store"
)

// How deliveries are made: the workers, retries with back-off, the
// delivery log, and the hand-over of unfinished deliveries between
// processes (shutdown, crash).

// claimBatch bounds the deliveries taken over at once.
const claimBatch = 100

func (s *Service) work() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case j := <-s.queue:
			s.deliver(j)
		}
	}
}

// logCtx is the context of delivery log writes: they must happen also
// while the service stops.
func logCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// deliver sends one event by one rule with retries, logging each attempt.
// Stopped during a send or a back-off wait, it logs the delivery as queued
// for the next process.
func (s *Service) deliver(j job) {
	ctx, cancel := logCtx()
	defer cancel()
	id, attempt := j.id, j.attempts
	if id == 0 {
		payload, err := json.Marshal(j.ev)
		if err != nil {
			s.log.Error("notification payload", "rule", j.rule.Name, "err", err)
			return
		}
		var ok bool
		id, ok, err = s.o.Store.StartDelivery(ctx, store.NotifyDelivery{RuleID: j.rule.ID, RuleName: j.rule.Name, Event: j.ev.Kind, Subject: j.ev.Subject,
			Status: store.DeliverySending, Dedupe: j.ev.Dedupe, Payload: string(payload)}, s.o.Now())
		if err != nil {
			s.log.Error("notification log", "rule", j.rule.Name, "err", err)
			return
		}
		if !ok {
			return // delivered before
		}
	}
	wait := s.o.Backoff
	for {
		attempt++
		err := s.send(s.ctx, j.rule, j.ev)
		if err != nil && s.ctx.Err() != nil {
			s.requeue(id, attempt-1, "interrupted by a shutdown before it was sent")
			return
		}
		status, text := "sent", ""
		if err != nil {
			status, text = "failed", err.Error()
			if attempt < s.o.Attempts {
				status = store.DeliveryRetrying
			}
		}
		if uerr := s.o.Store.UpdateDelivery(ctx, id, status, attempt, text, s.o.Now()); uerr != nil {
			s.log.Error("notification log", "rule", j.rule.Name, "err", uerr)
		}
		if err == nil {
			s.log.Info("notification sent", "rule", j.rule.Name, "event", j.ev.Kind, "attempts", attempt)
			return
		}
		s.log.Warn("notification failed", "rule", j.rule.Name, "event", j.ev.Kind, "attempt", attempt, "err", err)
		if attempt >= s.o.Attempts {
			return
		}
		select {
		case <-s.stop:
			s.requeue(id, attempt, text)
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// requeue gives a logged delivery back for another process to finish.
func (s *Service) requeue(id int64, attempts int, why string) {
	ctx, cancel := logCtx()
	defer cancel()
	if err := s.o.Store.UpdateDelivery(ctx, id, store.DeliveryQueued, attempts, why, s.o.Now()); err != nil {
		s.log.Error("notification log", "delivery", id, "err", err)
	}
}

// drain logs the events still queued when the service stops, as queued
// deliveries for the next process.
func (s *Service) drain() {
	ctx, cancel := logCtx()
	defer cancel()
	n := 0
	for {
		select {
		case j := <-s.queue:
			if j.id != 0 {
				s.requeue(j.id, j.attempts, "queued when the service stopped")
				n++
				continue
			}
			payload, err := json.Marshal(j.ev)
			if err != nil {
				continue
			}
			if _, _, err := s.o.Store.StartDelivery(ctx, store.NotifyDelivery{RuleID: j.rule.ID, RuleName: j.rule.Name, Event: j.ev.Kind, Subject: j.ev.Subject,
				Status: store.DeliveryQueued, Dedupe: j.ev.Dedupe, Payload: string(payload), LastError: "queued when the service stopped"}, s.o.Now()); err != nil {
				s.log.Error("notification log", "rule", j.rule.Name, "err", err)
				continue
			}
			n++
		default:
			if n > 0 {
				s.log.Info("notifications left for the next start", "count", n)
			}
			return
		}
	}
}

// sweep takes over unfinished deliveries every SweepEvery and prunes the
// log.
func (s *Service) sweep() {
	defer s.wg.Done()
	t := time.NewTicker(s.o.SweepEvery)
	defer t.Stop()
	var pruned time.Time
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.resume(s.ctx)
		if now := s.o.Now(); now.Sub(pruned) >= time.Hour {
			n, err := s.o.Store.PruneDeliveries(s.ctx, now.Add(-s.o.KeepLog))
			switch {
			case err != nil:
				s.log.Warn("pruning the notification log", "err", err) // again at the next tick
			case n > 0:
				s.log.Info("notification log pruned", "deleted", n)
			}
			if err == nil {
				pruned = now
			}
		}
	}
}

// resume claims queued deliveries and those of a process that is gone,
// and queues them (as many as the queue has room for).
func (s *Service) resume(ctx context.Context) {
	free := min(cap(s.queue)-len(s.queue), claimBatch)
	if free <= 0 || ctx.Err() != nil {
		return
	}
	now := s.o.Now()
	ds, err := s.o.Store.ClaimDeliveries(ctx, now.Add(-s.o.StaleAfter), free, now)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			s.log.Warn("taking over unfinished notifications", "err", err)
		}
		return
	}
	for _, d := range ds {
		j, err := s.resumed(ctx, d)
		if err != nil {
			if uerr := s.o.Store.UpdateDelivery(ctx, d.ID, "failed", d.Attempts, err.Error(), now); uerr != nil {
				s.log.Error("notification log", "delivery", d.ID, "err", uerr)
			}
			continue
		}
		select {
		case s.queue <- j:
			s.log.Info("notification resumed", "rule", d.RuleName, "event", d.Event, "delivery", d.ID)
		default:
			s.requeue(d.ID, d.Attempts, d.LastError)
		}
	}
}

// resumed rebuilds the job of a logged delivery with its rule as it is now.
func (s *Service) resumed(ctx context.Context, d store.NotifyDelivery) (job, error) {
	rule, err := s.o.Store.NotifyRule(ctx, d.RuleID)
	if errors.Is(err, store.ErrNotFound) {
		return job{}, errors.New("not sent: its rule was deleted")
	}
	if err != nil {
		return job{}, err
	}
	if !rule.Enabled {
		return job{}, errors.New("not sent: its rule was disabled")
	}
	var ev Event
	if err := json.Unmarshal([]byte(d.Payload), &ev); err != nil {
		return job{}, fmt.Errorf("not sent: its logged event cannot be read: %v", err)
	}
	ev.Dedupe = d.Dedupe
	return job{rule: rule, ev: ev, id: d.ID, attempts: d.Attempts}, nil
}

// send delivers one event to the rule's destination.
func (s *Service) send(ctx context.Context, r store.NotifyRule, ev Event) error {
	switch r.Kind {
	case KindWebhook, KindSlack, KindTeams:
		return s.postWebhook(ctx, r, ev)
	case KindEmail:
		return s.sendMail(ctx, r, ev)
	}
	return fmt.Errorf("unknown destination kind %q", r.Kind)
}
