package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/outbox"
)

// OutboxStore is a store's outbox as the sender sees it, and the way tests
// add a message (the flows add theirs inside their own atomic writes).
type OutboxStore interface {
	outbox.Store
	AddMessage(ctx context.Context, m outbox.Message) error
}

// RunOutbox runs the outbox contract against stores made by newStore, one
// per subtest.
func RunOutbox(t *testing.T, newStore func(t *testing.T) OutboxStore) {
	t.Run("outbox due order", func(t *testing.T) { testOutboxDue(t, newStore(t)) })
	t.Run("outbox claim is exclusive", func(t *testing.T) { testOutboxClaimRace(t, newStore(t)) })
	t.Run("outbox marks need the lease", func(t *testing.T) { testOutboxLease(t, newStore(t)) })
	t.Run("outbox resent marks count once", func(t *testing.T) { testOutboxResent(t, newStore(t)) })
	t.Run("outbox sent and failed are never due", func(t *testing.T) { testOutboxDone(t, newStore(t)) })
}

// NewMessage returns a new waiting message created at at.
func NewMessage(id string, at time.Time) outbox.Message {
	return outbox.Message{
		ID: id, Kind: outbox.PasswordReset, To: "alice@example.com", UserID: "usr_" + id, TokenID: "tok_" + id,
		Data: map[string]string{"ip": "203.0.113.7", "user_agent": "storetest/1.0"}, CreatedAt: at,
	}
}

func addMessages(t *testing.T, st OutboxStore, ms ...outbox.Message) {
	t.Helper()
	for _, m := range ms {
		if err := st.AddMessage(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
}

func dueIDs(t *testing.T, st OutboxStore, now time.Time, limit int) []string {
	t.Helper()
	ms, err := st.DueMessages(context.Background(), now, limit)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

func sameIDs(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// testOutboxDue: waiting messages come oldest first, none before its time,
// all fields as written; a re-sent add keeps the first message.
func testOutboxDue(t *testing.T, st OutboxStore) {
	ctx := context.Background()
	m3, m1, m2 := NewMessage("msg_c", t0.Add(3*time.Second)), NewMessage("msg_a", t0.Add(time.Second)), NewMessage("msg_b", t0.Add(2*time.Second))
	m1.Data["at"] = "2026-11-29T12:00:01Z"
	addMessages(t, st, m3, m1, m2)
	again := NewMessage("msg_a", t0.Add(time.Hour))
	again.To = "mallory@example.com"
	addMessages(t, st, again)
	for _, tc := range []struct {
		name  string
		now   time.Time
		limit int
		want  []string
	}{
		{"before any", t0, 10, nil},
		{"two due", t0.Add(2 * time.Second), 10, []string{"msg_a", "msg_b"}},
		{"all due", t0.Add(time.Minute), 10, []string{"msg_a", "msg_b", "msg_c"}},
		{"limited", t0.Add(time.Minute), 2, []string{"msg_a", "msg_b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dueIDs(t, st, tc.now, tc.limit); !sameIDs(got, tc.want) {
				t.Fatalf("due %v; want %v", got, tc.want)
			}
		})
	}
	ms, err := st.DueMessages(ctx, t0.Add(time.Minute), 1)
	if err != nil || len(ms) != 1 {
		t.Fatalf("due: %v, %v", ms, err)
	}
	got := ms[0]
	if got.Kind != m1.Kind || got.To != m1.To || got.UserID != m1.UserID || got.TokenID != m1.TokenID ||
		fmt.Sprint(got.Data) != fmt.Sprint(m1.Data) || !got.CreatedAt.Equal(m1.CreatedAt) || !got.NextAt.Equal(m1.CreatedAt) ||
		got.Attempts != 0 || !got.Waiting() {
		t.Fatalf("message read back as %+v; written %+v", got, m1)
	}
	// A leased message is not due until its lease ends.
	lease := t0.Add(2 * time.Minute)
	if _, err := st.ClaimMessage(ctx, "msg_a", t0.Add(time.Minute), lease); err != nil {
		t.Fatal(err)
	}
	if got := dueIDs(t, st, t0.Add(time.Minute), 10); !sameIDs(got, []string{"msg_b", "msg_c"}) {
		t.Fatalf("due while msg_a is leased: %v", got)
	}
	if got := dueIDs(t, st, lease, 10); !sameIDs(got, []string{"msg_a", "msg_b", "msg_c"}) {
		t.Fatalf("due when msg_a's lease ends (a sender died holding it): %v", got)
	}
	// A transient failure puts it back in line at its new time.
	if err := st.MarkFailed(ctx, "msg_a", lease, t0.Add(time.Hour), false, "throttled"); err != nil {
		t.Fatal(err)
	}
	if got := dueIDs(t, st, t0.Add(59*time.Minute), 10); !sameIDs(got, []string{"msg_b", "msg_c"}) {
		t.Fatalf("due before msg_a's retry time: %v", got)
	}
	if got := dueIDs(t, st, t0.Add(time.Hour), 10); !sameIDs(got, []string{"msg_b", "msg_c", "msg_a"}) {
		t.Fatalf("due at msg_a's retry time: %v", got)
	}
}

// testOutboxClaimRace, as a second sender (a duplicated stream record, the
// sweep): 16 parallel claims of one message, one wins; the message is not
// due while leased, and a claim of an unknown id is ErrNotFound.
func testOutboxClaimRace(t *testing.T, st OutboxStore) {
	ctx := context.Background()
	addMessages(t, st, NewMessage("msg_race", t0))
	const n = 16
	var won atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lease := t0.Add(time.Minute + time.Duration(i)*time.Millisecond)
			m, err := st.ClaimMessage(ctx, "msg_race", t0, lease)
			switch {
			case err == nil:
				won.Add(1)
				if !m.LeaseUntil.Equal(lease) || m.Attempts != 1 || m.ID != "msg_race" {
					t.Errorf("claimed as %+v", m)
				}
			case !errors.Is(err, outbox.ErrClaimed):
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if got := won.Load(); got != 1 {
		t.Fatalf("%d of %d parallel claims won; want exactly 1", got, n)
	}
	if _, err := st.ClaimMessage(ctx, "msg_race", t0.Add(30*time.Second), t0.Add(2*time.Minute)); !errors.Is(err, outbox.ErrClaimed) {
		t.Fatalf("claim within the lease: %v, want ErrClaimed", err)
	}
	if _, err := st.ClaimMessage(ctx, "msg_unknown", t0, t0.Add(time.Minute)); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("claim of an unknown id: %v, want ErrNotFound", err)
	}
}

// testOutboxLease, as a sender whose lease ran out (it stalled, another took
// the message over): its marks are refused, the new holder's succeed.
func testOutboxLease(t *testing.T, st OutboxStore) {
	ctx := context.Background()
	addMessages(t, st, NewMessage("msg_l", t0))
	old := t0.Add(time.Minute)
	if _, err := st.ClaimMessage(ctx, "msg_l", t0, old); err != nil {
		t.Fatal(err)
	}
	now := old.Add(time.Second)
	cur := now.Add(time.Minute)
	m, err := st.ClaimMessage(ctx, "msg_l", now, cur)
	if err != nil {
		t.Fatalf("claim after the lease ended: %v", err)
	}
	if m.Attempts != 2 {
		t.Fatalf("attempts %d after two claims", m.Attempts)
	}
	for _, tc := range []struct {
		name string
		mark func(lease time.Time) error
	}{
		{"sent", func(l time.Time) error { return st.MarkSent(ctx, "msg_l", l, now) }},
		{"failed", func(l time.Time) error { return st.MarkFailed(ctx, "msg_l", l, now.Add(time.Hour), false, "x") }},
		{"failed for good", func(l time.Time) error { return st.MarkFailed(ctx, "msg_l", l, time.Time{}, true, "x") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, l := range []time.Time{old, {}, cur.Add(time.Millisecond)} {
				if err := tc.mark(l); !errors.Is(err, outbox.ErrClaimed) {
					t.Fatalf("mark under lease %v (current %v): %v, want ErrClaimed", l, cur, err)
				}
			}
		})
	}
	if err := st.MarkSent(ctx, "msg_unknown", cur, now); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("mark of an unknown id: %v, want ErrNotFound", err)
	}
	if err := st.MarkSent(ctx, "msg_l", cur, now); err != nil {
		t.Fatalf("mark by the holder: %v", err)
	}
}

// testOutboxResent: a mark resent after a lost answer (the SDK's retry)
// succeeds and changes nothing; a failure is counted by its claim, once.
func testOutboxResent(t *testing.T, st OutboxStore) {
	ctx := context.Background()
	addMessages(t, st, NewMessage("msg_r", t0))
	l1 := t0.Add(time.Minute)
	if _, err := st.ClaimMessage(ctx, "msg_r", t0, l1); err != nil {
		t.Fatal(err)
	}
	next := t0.Add(10 * time.Second)
	for range 2 {
		if err := st.MarkFailed(ctx, "msg_r", l1, next, false, "throttled"); err != nil {
			t.Fatalf("failed mark (resent): %v", err)
		}
	}
	if got := dueIDs(t, st, next, 10); !sameIDs(got, []string{"msg_r"}) {
		t.Fatalf("due after a resent failure mark: %v", got)
	}
	l2 := next.Add(time.Minute)
	m, err := st.ClaimMessage(ctx, "msg_r", next, l2)
	if err != nil {
		t.Fatal(err)
	}
	if m.Attempts != 2 || m.LastError != "throttled" || !m.NextAt.Equal(next) {
		t.Fatalf("second claim: %+v; want attempts 2, the last error and the retry time", m)
	}
	sentAt := next.Add(time.Second)
	for range 2 {
		if err := st.MarkSent(ctx, "msg_r", l2, sentAt); err != nil {
			t.Fatalf("sent mark (resent): %v", err)
		}
	}
	// The earlier lease's resend now finds the message sent: refused, and
	// the message stays sent.
	if err := st.MarkFailed(ctx, "msg_r", l1, next, false, "late"); err != nil && !errors.Is(err, outbox.ErrClaimed) {
		t.Fatalf("late resend of the first mark: %v", err)
	}
	if got := dueIDs(t, st, t0.Add(24*time.Hour), 10); len(got) != 0 {
		t.Fatalf("due after being sent: %v", got)
	}
	if _, err := st.ClaimMessage(ctx, "msg_r", t0.Add(24*time.Hour), t0.Add(25*time.Hour)); !errors.Is(err, outbox.ErrClaimed) {
		t.Fatalf("claim after being sent: %v, want ErrClaimed", err)
	}
}

// testOutboxDone: sent and given-up messages are never due and never
// claimed again, however late.
func testOutboxDone(t *testing.T, st OutboxStore) {
	ctx := context.Background()
	addMessages(t, st, NewMessage("msg_s", t0), NewMessage("msg_f", t0), NewMessage("msg_w", t0))
	lease := t0.Add(time.Minute)
	for _, id := range []string{"msg_s", "msg_f"} {
		if _, err := st.ClaimMessage(ctx, id, t0, lease); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.MarkSent(ctx, "msg_s", lease, t0); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkFailed(ctx, "msg_f", lease, time.Time{}, true, "address rejected"); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(30 * 24 * time.Hour)
	if got := dueIDs(t, st, later, 10); !sameIDs(got, []string{"msg_w"}) {
		t.Fatalf("due: %v; want only the waiting message", got)
	}
	for _, id := range []string{"msg_s", "msg_f"} {
		if _, err := st.ClaimMessage(ctx, id, later, later.Add(time.Minute)); !errors.Is(err, outbox.ErrClaimed) {
			t.Fatalf("claim of %s: %v, want ErrClaimed", id, err)
		}
	}
}
