package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/vulngate/vulngate/internal/notify"
	"github.com/vulngate/vulngate/internal/secret"
	"github.com/vulngate/vulngate/internal/store"
	"github.com/vulngate/vulngate/internal/testutil/storetest"
)

// holdReceiver is a webhook receiver that holds requests until released
// (or the client gives up), then accepts them.
type holdReceiver struct {
	mu      sync.Mutex
	arrived int
	bodies  [][]byte
	sigs    []string
	release chan struct{}
}

func (h *holdReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.arrived++
	rel := h.release
	h.mu.Unlock()
	select {
	case <-rel:
	case <-r.Context().Done():
		return
	}
	h.mu.Lock()
	h.bodies = append(h.bodies, b)
	h.sigs = append(h.sigs, r.Header.Get(notify.SignatureHeader))
	h.mu.Unlock()
}

func (h *holdReceiver) state() (int, [][]byte, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.arrived, append([][]byte(nil), h.bodies...), append([]string(nil), h.sigs...)
}

func statuses(t *testing.T, st *store.Store) map[string]int {
	t.Helper()
	ds, err := st.NotifyDeliveries(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, d := range ds {
		out[d.Status]++
	}
	return out
}

// TestDeliveriesSurviveShutdown: a send in progress and an event still
// queued when the service stops are logged as queued, and the next
// service sends both, each once.
func TestDeliveriesSurviveShutdown(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		h := &holdReceiver{release: make(chan struct{})}
		srv := httptest.NewServer(h)
		defer srv.Close()
		// The two services are two processes sharing the secret key.
		o := notify.Options{Store: st, Workers: 1, Attempts: 3, Backoff: 10 * time.Millisecond, Secrets: secret.Ephemeral()}
		svc, err := notify.New(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		secret := "resume-secret"
		if _, err := svc.SaveRule(ctx, 0, notify.RuleInput{Name: "hook", Event: notify.EventJobFailed, Kind: notify.KindWebhook, URL: srv.URL, Secret: &secret}); err != nil {
			t.Fatal(err)
		}
		svc.JobFailed("first", "first", "boom")
		waitFor(t, "the first send to be in progress", func() bool { n, _, _ := h.state(); return n == 1 })
		svc.JobFailed("second", "second", "boom") // the only worker is busy
		svc.Close()
		if got := statuses(t, st); got[store.DeliveryQueued] != 2 || len(got) != 1 {
			t.Fatalf("after the shutdown: %v, want 2 queued", got)
		}

		close(h.release)
		svc2, err := notify.New(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		defer svc2.Close()
		// The cancelled request may still complete at the receiver once it
		// is released (deliveries are at least once): wait for both events.
		jobs := func() map[string]bool {
			_, bodies, sigs := h.state()
			out := map[string]bool{}
			for i, b := range bodies {
				if sigs[i] != notify.Sign(secret, b) {
					t.Fatalf("resumed delivery's signature does not verify: %s", b)
				}
				var ev notify.Event
				json.Unmarshal(b, &ev)
				out[ev.Job] = true
			}
			return out
		}
		waitFor(t, "both events delivered", func() bool { j := jobs(); return j["first"] && j["second"] })
		waitFor(t, "both logged as sent", func() bool { return statuses(t, st)["sent"] == 2 })
		if got := statuses(t, st); len(got) != 1 {
			t.Fatalf("delivery log: %v, want only 2 sent", got)
		}
	})
}

// TestDeliveriesTakenOver: deliveries of a process that died (on this
// host, or silent for StaleAfter) are sent by another; a live process's
// are left alone; rows without their event are marked interrupted;
// queued rows are picked up by the periodic sweep; old finished rows are
// pruned.
func TestDeliveriesTakenOver(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		h := &holdReceiver{release: make(chan struct{})}
		close(h.release)
		srv := httptest.NewServer(h)
		defer srv.Close()
		rule := notify.RuleInput{Name: "hook", Event: notify.EventJobFailed, Kind: notify.KindWebhook, URL: srv.URL}
		setup, err := notify.New(ctx, notify.Options{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		r, err := setup.SaveRule(ctx, 0, rule)
		if err != nil {
			t.Fatal(err)
		}
		setup.Close()

		host, _ := os.Hostname()
		cmd := exec.Command("true")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		dead := fmt.Sprintf("%s:%d:0000", host, cmd.Process.Pid)
		now := time.Now()
		add := func(job, status, owner string, updated time.Time, withPayload bool) int64 {
			payload := ""
			if withPayload {
				b, _ := json.Marshal(notify.Event{Kind: notify.EventJobFailed, Job: job, Subject: job, At: now})
				payload = string(b)
			}
			id, _, err := st.StartDelivery(ctx, store.NotifyDelivery{RuleID: r.ID, RuleName: r.Name, Event: notify.EventJobFailed, Subject: job, Status: status, Owner: owner, Payload: payload}, updated)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		add("dead-local", store.DeliverySending, dead, now, true)
		add("stale-remote", store.DeliveryRetrying, "elsewhere:1:abcd", now.Add(-time.Hour), true)
		live := add("live-remote", store.DeliverySending, "elsewhere:1:abcd", now, true)
		legacy := add("legacy", store.DeliverySending, dead, now, false)
		add("old", "sent", "", now.Add(-48*time.Hour), true)

		svc, err := notify.New(ctx, notify.Options{Store: st, SweepEvery: 20 * time.Millisecond, KeepLog: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer svc.Close()
		waitFor(t, "the two taken-over deliveries", func() bool { _, b, _ := h.state(); return len(b) == 2 })
		// Another instance stops and leaves a queued delivery: the sweep
		// takes it.
		add("left-queued", store.DeliveryQueued, "", now, true)
		waitFor(t, "the queued delivery", func() bool { _, b, _ := h.state(); return len(b) == 3 })
		waitFor(t, "the old row pruned", func() bool {
			ds, _ := st.NotifyDeliveries(ctx, 100)
			for _, d := range ds {
				if d.Subject == "old" { // by subject: SQLite reuses the highest rowid once deleted
					return false
				}
			}
			return true
		})
		ds, err := st.NotifyDeliveries(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			switch {
			case d.ID == live && d.Status != store.DeliverySending:
				t.Errorf("a live process's delivery was taken: %+v", d)
			case d.ID == legacy && d.Status != "interrupted":
				t.Errorf("a delivery without its event: %+v, want interrupted", d)
			}
		}
		_, bodies, _ := h.state()
		got := map[string]bool{}
		for _, b := range bodies {
			var ev notify.Event
			json.Unmarshal(b, &ev)
			got[ev.Job] = true
		}
		if !got["dead-local"] || !got["stale-remote"] || !got["left-queued"] || got["live-remote"] {
			t.Fatalf("delivered: %v", got)
		}
	})
}
