package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/postgres"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

// rotationGroup is a store with one rotation sender, held busy by a
// rotation blocked on a row lock until release is called: whatever is
// rotated meanwhile queues and goes out as one batch.
type rotationGroup struct {
	t       *testing.T
	st      *postgres.Store
	m       *sessions.Manager
	ring    mac.Keyring
	now     time.Time
	release func()
	blocked chan error
}

func newRotationGroup(t *testing.T, st *postgres.Store, pool *pgxpool.Pool) *rotationGroup {
	t.Helper()
	ctx := testenv.Context(t)
	st.RotationSenders = 1
	ring, err := mac.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &rotationGroup{t: t, st: st, m: storetest.Manager(st, ring), ring: ring, now: time.Now(), blocked: make(chan error, 1)}
	blocker := g.start("blocker")
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var holder int
	if err := tx.QueryRow(ctx, "SELECT pg_backend_pid() FROM sessions WHERE session_id = $1 FOR UPDATE", blocker.Session.ID).Scan(&holder); err != nil {
		t.Fatal(err)
	}
	// A test that fails before release must still end the transaction,
	// or closing the pool would wait for its connection forever.
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	g.release = func() {
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-g.blocked; err != nil {
			t.Fatalf("the blocked rotation: %v", err)
		}
	}
	go func() {
		_, err := g.m.Rotate(ctx, blocker.RefreshToken, "", g.now.Add(time.Second))
		g.blocked <- err
	}()
	// The blocker holds the sender once its statement waits for the lock.
	for {
		var waiting bool
		if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)))", holder).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			return g
		}
		runtime.Gosched()
	}
}

// start signs up name and starts a session of theirs.
func (g *rotationGroup) start(name string) sessions.Issued {
	g.t.Helper()
	iss, err := g.m.Start(context.Background(), storetest.Owner(g.t, g.st, name), sessions.Meta{}, g.now)
	if err != nil {
		g.t.Fatal(err)
	}
	return iss
}

// startN starts a session each for n users named prefix0, prefix1, ...:
// their refresh tokens and session ids, in that order.
func (g *rotationGroup) startN(prefix string, n int) (tokens, ids []string) {
	g.t.Helper()
	for i := range n {
		iss := g.start(fmt.Sprintf("%s%d", prefix, i))
		tokens, ids = append(tokens, iss.RefreshToken), append(ids, iss.Session.ID)
	}
	return tokens, ids
}

// waitQueued waits until n rotations are queued behind the sender; none
// may be answered meanwhile (done).
func (g *rotationGroup) waitQueued(n int, done chan int) {
	for g.st.QueuedRotations() != n {
		if len(done) > 0 {
			g.t.Fatal("a rotation was answered while the sender was busy: it did not queue")
		}
		runtime.Gosched()
	}
}

type rotated struct {
	iss sessions.Issued
	err error
}

// rotateQueued rotates each token on its own goroutine, waits until all of
// them queue behind the blocked sender, releases it and returns the answers.
func (g *rotationGroup) rotateQueued(tokens []string, extra func(ctx context.Context) error) ([]rotated, error) {
	ctx := testenv.Context(g.t)
	out := make([]rotated, len(tokens))
	done := make(chan int, len(tokens))
	for i, tok := range tokens {
		go func() {
			out[i].iss, out[i].err = g.m.Rotate(ctx, tok, "", g.now.Add(2*time.Second))
			done <- i
		}()
	}
	var extraErr chan error
	n := len(tokens)
	if extra != nil {
		extraErr = make(chan error, 1)
		g.waitQueued(n, done)
		go func() { extraErr <- extra(ctx) }()
		n++
	}
	g.waitQueued(n, done)
	g.release()
	for range tokens {
		<-done
	}
	if extra != nil {
		return out, <-extraErr
	}
	return out, nil
}

// xmins counts the distinct transactions that last wrote the sessions ids.
func xmins(t *testing.T, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, ids []string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(testenv.Context(t), "SELECT count(DISTINCT xmin::text) FROM sessions WHERE session_id = ANY($1)", ids).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRotationsShareOneCommit: rotations that arrive while another is in
// flight go out together and commit in one transaction (the rows' xmin),
// each answered with its own session and token.
func TestRotationsShareOneCommit(t *testing.T) {
	st, pool := newStore(t, "")
	g := newRotationGroup(t, st, pool)
	const n = 6
	tokens, ids := g.startN("batched", n)
	got, _ := g.rotateQueued(tokens, nil)
	if x := xmins(t, pool, ids); x != 1 {
		t.Fatalf("%d rotations committed by %d transactions, want 1", n, x)
	}
	if batches, retried := st.RotationBatches(); batches != 1 || retried != 0 {
		t.Fatalf("%d batches, %d sent again; want 1, 0", batches, retried)
	}
	for i, r := range got {
		if r.err != nil || r.iss.Session.ID != ids[i] || r.iss.Session.Rotations != 1 {
			t.Fatalf("rotation %d: session %s (%d rotations), %v; want %s rotated once", i, r.iss.Session.ID, r.iss.Session.Rotations, r.err, ids[i])
		}
		again, err := g.m.Rotate(context.Background(), r.iss.RefreshToken, "", g.now.Add(3*time.Second))
		if err != nil || again.Session.Rotations != 2 {
			t.Fatalf("rotation %d: its token refreshes again: %d rotations, %v", i, again.Session.Rotations, err)
		}
	}
}

// TestBatchSurvivesAFailingRotation, as the attacker: one rotation in a
// batch is made to fail (a session id PostgreSQL refuses: not UTF-8), which
// aborts the batch's transaction. Every other rotation of the batch is
// sent again alone and answered as if the batch had never been: rotated,
// with its own token, which refreshes again; the failing one alone fails.
func TestBatchSurvivesAFailingRotation(t *testing.T) {
	st, pool := newStore(t, "")
	g := newRotationGroup(t, st, pool)
	const n = 5
	tokens, ids := g.startN("victim", n)
	bad := sessions.Rotation{
		SessionID: "\xff\xfe", PresentedHash: make([]byte, 32), NewHash: make([]byte, 32), Salt: make([]byte, 32),
		Now: g.now, ExpiresAt: g.now.Add(time.Hour),
	}
	got, err := g.rotateQueued(tokens, func(ctx context.Context) error {
		_, err := st.RotateSession(ctx, bad)
		return err
	})
	if err == nil || errors.Is(err, sessions.ErrNotFound) || errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("the failing rotation: %v, want a database error", err)
	}
	if batches, retried := st.RotationBatches(); batches != 1 || retried != n+1 {
		t.Fatalf("%d batches, %d sent again; want 1, %d", batches, retried, n+1)
	}
	for i, r := range got {
		if r.err != nil || r.iss.Session.ID != ids[i] || r.iss.Session.Rotations != 1 {
			t.Fatalf("rotation %d: session %s (%d rotations), %v; want %s rotated once", i, r.iss.Session.ID, r.iss.Session.Rotations, r.err, ids[i])
		}
		s, err := st.GetSession(context.Background(), ids[i])
		if err != nil || s.Rotations != 1 {
			t.Fatalf("session %d as stored: %d rotations, %v; want 1", i, s.Rotations, err)
		}
		again, err := g.m.Rotate(context.Background(), r.iss.RefreshToken, "", g.now.Add(3*time.Second))
		if err != nil || again.Session.Rotations != 2 {
			t.Fatalf("rotation %d: its token refreshes again: %d rotations, %v", i, again.Session.Rotations, err)
		}
	}
}

// TestResentRotationAnswersItself: what a failed batch's retry sends when
// the batch did commit (its answer lost with the connection) is the same
// rotation again. The statement then fails its condition and returns the
// row carrying the rotation's own new hash, and the manager answers the
// re-sent rotation (same ticket) with the same token: sending it again is
// safe.
func TestResentRotationAnswersItself(t *testing.T) {
	ctx := testenv.Context(t)
	st, _ := newStore(t, "")
	ring, err := mac.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	m := storetest.Manager(st, ring)
	now := time.Now()
	iss, err := m.Start(ctx, storetest.Owner(t, st, "resent"), sessions.Meta{}, now)
	if err != nil {
		t.Fatal(err)
	}
	first, err := m.Rotate(ctx, iss.RefreshToken, "", now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	again, err := m.Rotate(ctx, iss.RefreshToken, first.Ticket, now.Add(time.Second))
	if err != nil || again.RefreshToken != first.RefreshToken || again.Session.Rotations != 1 {
		t.Fatalf("the rotation re-sent: %v, same token %v, %d rotations; want the same answer, rotated once",
			err, again.RefreshToken == first.RefreshToken, again.Session.Rotations)
	}
	// At the store: the identical rotation twice.
	s, err := st.GetSession(ctx, first.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := sessions.Rotation{SessionID: s.ID, PresentedHash: s.TokenHash, NewHash: make([]byte, 32), Salt: make([]byte, 32),
		Now: now.Add(2 * time.Second).UTC().Truncate(time.Millisecond), ExpiresAt: now.Add(time.Hour).UTC().Truncate(time.Second)}
	r.NewHash[0], r.Salt[0] = 1, 2
	if _, err := st.RotateSession(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := st.RotateSession(ctx, r)
	if !errors.Is(err, sessions.ErrConflict) || !bytes.Equal(got.TokenHash, r.NewHash) || got.Rotations != 2 {
		t.Fatalf("the same rotation again: %v, hash is its own %v, %d rotations; want ErrConflict with its own hash, 2 rotations",
			err, bytes.Equal(got.TokenHash, r.NewHash), got.Rotations)
	}
}
