package dynamo_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// loseAnswers delivers every request to moto but, for the operations named
// in lose (X-Amz-Target values), drops the answer of the first n sends and
// reports a reset connection instead: the write happened, the client cannot
// know it, and the SDK resends.
type loseAnswers struct {
	mu    sync.Mutex
	lose  map[string]int // operation -> answers still to drop
	sends map[string]int // operation -> requests delivered
}

func (l *loseAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	op := r.Header.Get("X-Amz-Target")
	resp, err := http.DefaultTransport.RoundTrip(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sends[op]++
	if err != nil || l.lose[op] == 0 {
		return resp, err
	}
	l.lose[op]--
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
}

// TestRecordFailureResentCountsOnce: when the answer to RecordFailure's
// write is lost and the SDK resends it, the failure is still counted once,
// and the call returns the state the write produced.
func TestRecordFailureResentCountsOnce(t *testing.T) {
	const updateItem = "DynamoDB_20120810.UpdateItem"
	lossy := &loseAnswers{lose: map[string]int{updateItem: 1}, sends: map[string]int{}}
	cfg := testenv.AWSConfig(testenv.MotoURL(t))
	cfg.HTTPClient = &http.Client{Transport: lossy}
	db := dynamodb.NewFromConfig(cfg)
	st := dynamo.New(db, testenv.DynamoTables(t, db))
	ctx := testenv.Context(t)
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

	for i, lose := range []int{0, 1, 0, 1} { // answers lost: on the 2nd and 4th failure
		lossy.mu.Lock()
		lossy.lose[updateItem], lossy.sends[updateItem] = lose, 0
		lossy.mu.Unlock()
		now := t0.Add(time.Duration(i) * time.Second)
		got, err := st.RecordFailure(ctx, "alice", now, now.Add(time.Hour))
		if err != nil {
			t.Fatalf("failure %d: %v", i+1, err)
		}
		lossy.mu.Lock()
		sends := lossy.sends[updateItem]
		lossy.mu.Unlock()
		if sends != 1+lose {
			t.Fatalf("failure %d: %d UpdateItem sends; want %d (the SDK must resend a lost answer for this test to mean anything)", i+1, sends, 1+lose)
		}
		if got.Failures != i+1 || !got.LastFailure.Equal(now) {
			t.Fatalf("failure %d returned %+v; want %d failures, last at %v", i+1, got, i+1, now)
		}
		stored, err := st.GetAttempts(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if stored.Failures != i+1 {
			t.Fatalf("after failure %d (%d sends): %d failures stored; want %d", i+1, sends, stored.Failures, i+1)
		}
	}
}

// TestReserveResentCountsOnce: when the answer to a reservation's write is
// lost and the SDK resends it, the guess still takes one slot (the resend
// finds its own reservation id on the item), and a give-back whose answer is
// lost gives back once.
func TestReserveResentCountsOnce(t *testing.T) {
	const updateItem = "DynamoDB_20120810.UpdateItem"
	lossy := &loseAnswers{lose: map[string]int{}, sends: map[string]int{}}
	cfg := testenv.AWSConfig(testenv.MotoURL(t))
	cfg.HTTPClient = &http.Client{Transport: lossy}
	db := dynamodb.NewFromConfig(cfg)
	st := dynamo.New(db, testenv.DynamoTables(t, db))
	ctx := testenv.Context(t)
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	c := throttle.Counter{Key: throttle.IPKey("198.51.100.9"), Policy: throttle.Policy{MaxFailures: 10, Base: time.Second, Max: time.Minute}}
	send := func(lose int, f func() error) int {
		t.Helper()
		lossy.mu.Lock()
		lossy.lose[updateItem], lossy.sends[updateItem] = lose, 0
		lossy.mu.Unlock()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		lossy.mu.Lock()
		defer lossy.mu.Unlock()
		return lossy.sends[updateItem]
	}
	for i, lose := range []int{0, 1, 0, 1} {
		var r throttle.Reservation
		sends := send(lose, func() (err error) { r, err = st.Reserve(ctx, []throttle.Counter{c}, t0); return err })
		if sends != 1+lose {
			t.Fatalf("reservation %d: %d UpdateItem sends; want %d (the SDK must resend a lost answer)", i+1, sends, 1+lose)
		}
		if !r.OK || r.States[0].Failures != i+1 {
			t.Fatalf("reservation %d returned %+v; want a slot, %d failures", i+1, r, i+1)
		}
		if stored, err := st.GetAttempts(ctx, c.Key); err != nil || stored.Failures != i+1 {
			t.Fatalf("after reservation %d (%d sends): %+v, %v; want %d failures", i+1, sends, stored, err, i+1)
		}
	}
	if sends := send(1, func() error { return st.Release(ctx, nil, []string{c.Key}) }); sends != 2 {
		t.Fatalf("give-back: %d sends; want 2", sends)
	}
	if stored, err := st.GetAttempts(ctx, c.Key); err != nil || stored.Failures != 3 {
		t.Fatalf("after a resent give-back: %+v, %v; want 3 failures", stored, err)
	}
}

// TestUseTokenResentUsesOnce: when the answer to a reset's transaction is
// lost and the SDK resends it, the reset still succeeds (the resend finds
// the record marked by this very call: not a second use), the epoch moves
// once and the notice is written once.
func TestUseTokenResentUsesOnce(t *testing.T) {
	const transact = "DynamoDB_20120810.TransactWriteItems"
	lossy := &loseAnswers{lose: map[string]int{}, sends: map[string]int{}}
	cfg := testenv.AWSConfig(testenv.MotoURL(t))
	cfg.HTTPClient = &http.Client{Transport: lossy}
	db := dynamodb.NewFromConfig(cfg)
	tables := testenv.DynamoTables(t, db)
	st := dynamo.New(db, tables)
	ctx := testenv.Context(t)
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	u := users.User{ID: "usr_1", Username: "alice", PasswordHash: "$argon2id$old", CreatedAt: t0, UpdatedAt: t0}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	rec, err := onetime.New(onetime.PasswordReset, u.ID, u.Username, 0, "", t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.IssueToken(ctx, rec); err != nil {
		t.Fatal(err)
	}
	notice := outbox.Message{ID: "msg_done", Kind: outbox.PasswordWasReset, To: "a@example.com", UserID: u.ID, CreatedAt: t0}
	lossy.mu.Lock()
	lossy.lose[transact] = 1
	lossy.mu.Unlock()
	got, err := st.UseToken(ctx, onetime.Use{Record: rec, Now: t0.Add(time.Minute), PasswordHash: "$argon2id$new", Messages: []outbox.Message{notice}})
	lossy.mu.Lock()
	sends := lossy.sends[transact]
	lossy.mu.Unlock()
	if sends < 2 {
		t.Fatalf("%d TransactWriteItems sends; want a resend for this test to mean anything", sends)
	}
	if err != nil || got.Epoch != 1 || got.PasswordHash != "$argon2id$new" {
		t.Fatalf("a resent reset: %+v, %v; want the reset, epoch 1", got, err)
	}
	if r, _ := st.GetToken(ctx, rec.ID); !r.UsedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("record after the reset: %+v", r)
	}
	// The record is used: another call is a second use.
	if _, err := st.UseToken(ctx, onetime.Use{Record: rec, Now: t0.Add(2 * time.Minute), PasswordHash: "$argon2id$again"}); !errors.Is(err, onetime.ErrUsed) {
		t.Fatalf("a second use: %v, want ErrUsed", err)
	}
	due, err := st.DueMessages(ctx, t0.Add(time.Hour), 0)
	if err != nil || len(due) != 1 || due[0].ID != notice.ID {
		t.Fatalf("outbox: %+v, %v; want the notice once", due, err)
	}
}
