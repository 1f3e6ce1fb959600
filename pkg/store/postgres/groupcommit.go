package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotor-auth/rotor/pkg/sessions"
)

// Group commit of refreshes. With synchronous_commit on, a refresh's cost
// is mostly its transaction, not its statement: a round trip, a commit and
// a WAL flush, in the server and in the database (BENCHMARKS.md,
// Comparison 5). RotateSession therefore sends the rotations that arrive
// while others are in flight together: one pipelined batch, one implicit
// transaction (one Sync), so one round trip, one commit and one WAL flush
// for all of them, and answers each only after that commit. The batching is
// natural: a rotation that finds a sender free is sent at once, alone (no
// timer, no added latency at low load; a Lambda function, one request at a
// time, always sends alone); the ones that arrive meanwhile queue and go
// out together as soon as a sender is free.

// DefaultRotationSenders is how many rotation batches may be in flight at
// once when Store.RotationSenders is zero. One makes the batches largest and
// the CPU per refresh least (BENCHMARKS.md, Comparison 5: two senders saved
// about half as much); the price is that a rotation waiting for a row lock
// holds back the batch queued behind it for as long (Rotor's own writers
// hold a session's row for one statement).
const DefaultRotationSenders = 1

// batchLockTimeout bounds how long a batch waits for a row lock (its
// transaction's lock_timeout). A batch locks several sessions in one
// transaction, so it could close a deadlock cycle with another multi-row
// writer (EndUserSessions' delete, a login's evictions): instead it gives
// up far below deadlock_timeout, and its rotations are sent again one by
// one. The other writer never sees a deadlock error.
const batchLockTimeout = "100ms"

// rotations is the queue of RotateSession calls waiting for a sender.
type rotations struct {
	mu      sync.Mutex
	senders int // in flight
	queue   []*rotationCall

	// Counted for the tests and the benchmark's notes.
	batches atomic.Int64 // batches of two or more sent
	batched atomic.Int64 // rotations sent in those batches
	retried atomic.Int64 // rotations sent again alone after their batch failed
}

// rotationCall is one queued RotateSession and, once done is closed, its
// answer.
type rotationCall struct {
	ctx  context.Context
	r    sessions.Rotation
	done chan struct{}
	s    sessions.Session
	err  error
}

func (st *Store) rotationSenders() int {
	if st.RotationSenders > 0 {
		return st.RotationSenders
	}
	return DefaultRotationSenders
}

// RotateSession implements sessions.Store with one statement
// (rotate_session.sql) that returns the updated row, or the row as it is when
// the condition failed; concurrent calls share one transaction (see the top
// of this file).
func (st *Store) RotateSession(ctx context.Context, r sessions.Rotation) (sessions.Session, error) {
	g := &st.rot
	g.mu.Lock()
	if g.senders < st.rotationSenders() {
		g.senders++
		g.mu.Unlock()
		// Deferred: a panic here (recovered by the HTTP server) must
		// still free the sender, or every later refresh would queue forever.
		defer st.sendQueued(false)
		return st.rotateOne(ctx, r)
	}
	c := &rotationCall{ctx: ctx, r: r, done: make(chan struct{})}
	g.queue = append(g.queue, c)
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.s, c.err
	case <-ctx.Done():
	}
	g.mu.Lock()
	if i := slices.Index(g.queue, c); i >= 0 { // not sent: leave
		g.queue = slices.Delete(g.queue, i, i+1)
		g.mu.Unlock()
		return sessions.Session{}, fmt.Errorf("postgres: rotate session: %w", ctx.Err())
	}
	g.mu.Unlock()
	<-c.done // sent: its batch ends when every member's context has
	return c.s, c.err
}

// sendQueued is called by a sender that has finished: while calls are
// queued, it sends them as batches, then frees its place. A caller whose
// own rotation was answered (async false) hands the queue to a new
// goroutine rather than delay its answer.
func (st *Store) sendQueued(async bool) {
	g := &st.rot
	for {
		g.mu.Lock()
		batch := g.queue
		if len(batch) == 0 {
			g.senders--
			g.mu.Unlock()
			return
		}
		if !async {
			g.mu.Unlock()
			go st.sendQueued(true)
			return
		}
		g.queue = nil
		g.mu.Unlock()
		st.rotateBatch(batch)
	}
}

// rotateOne sends one rotation alone, as its own transaction.
func (st *Store) rotateOne(ctx context.Context, r sessions.Rotation) (sessions.Session, error) {
	sql, args := st.rotateQuery(r)
	s, outcome, err := rotationResult(st.DB.QueryRow(ctx, sql, args...))
	if err != nil {
		return sessions.Session{}, err
	}
	return s, outcome
}

// rotateBatch sends calls as one batch and answers each after its commit.
// If any statement or the commit fails, none of them is known to have
// applied on its own terms, so each is sent again alone and answered by
// that: a statement made to fail (by whoever sent it) costs the others a
// round trip each, never a wrong answer. Sending a rotation that did apply
// (the commit succeeded but its answer was lost) is safe: it then fails its
// condition and returns the row carrying its own new hash, which
// sessions.Manager answers as the re-sent rotation it is.
func (st *Store) rotateBatch(calls []*rotationCall) {
	defer func() {
		for _, c := range calls {
			close(c.done)
		}
	}()
	if len(calls) == 1 {
		c := calls[0]
		c.s, c.err = st.rotateOne(c.ctx, c.r)
		return
	}
	g := &st.rot
	g.batches.Add(1)
	g.batched.Add(int64(len(calls)))
	// Rows locked in one order by every batch: two batches in flight never
	// wait for each other in a cycle.
	slices.SortStableFunc(calls, func(a, b *rotationCall) int { return strings.Compare(a.r.SessionID, b.r.SessionID) })
	ctx, stop := batchContext(calls)
	defer stop()
	b := &pgx.Batch{}
	b.Queue("SELECT set_config('lock_timeout', $1, true)", batchLockTimeout)
	for _, c := range calls {
		sql, args := st.rotateQuery(c.r)
		b.Queue(sql, args...)
	}
	res := st.DB.SendBatch(ctx, b)
	_, failed := res.Exec()
	for _, c := range calls {
		var err error
		c.s, c.err, err = rotationResult(res.QueryRow())
		failed = errors.Join(failed, err)
	}
	// Close reads up to the Sync's answer: the commit, or its failure.
	if err := res.Close(); err != nil || failed != nil {
		for _, c := range calls {
			g.retried.Add(1)
			c.s, c.err = st.rotateOne(c.ctx, c.r)
		}
	}
}

// batchContext is the context a batch is sent with: cancelled when every
// member's context is (one client going away must not fail the others'
// refreshes), and carrying none of their deadlines.
func batchContext(calls []*rotationCall) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(calls[0].ctx))
	var left atomic.Int64
	left.Store(int64(len(calls)))
	stops := make([]func() bool, len(calls))
	for i, c := range calls {
		stops[i] = context.AfterFunc(c.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, s := range stops {
			s()
		}
		cancel()
	}
}

func (st *Store) rotateQuery(r sessions.Rotation) (string, []any) {
	var jkt *string // NULL: a bearer session's rotation
	if r.JKT != "" {
		jkt = &r.JKT
	}
	return st.named("rotate_session", pgx.NamedArgs{
		"session_id": r.SessionID, "presented_hash": r.PresentedHash, "new_hash": r.NewHash,
		"salt": r.Salt, "now": r.Now, "expires_at": r.ExpiresAt, "jkt": jkt,
	})
}

// rotationResult reads rotate_session.sql's answer: the session and the
// store's outcome (nil, or one of the sessions errors), or err when the
// database failed.
func rotationResult(row pgx.Row) (s sessions.Session, outcome, err error) {
	var rotated bool
	var r sessionRow
	var before *time.Time
	var superseded bool
	err = row.Scan(append(append([]any{&rotated}, r.dest()...), &before, &superseded)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sessions.Session{}, sessions.ErrNotFound, nil
	}
	if err != nil {
		return sessions.Session{}, nil, fmt.Errorf("postgres: rotate session: %w", err)
	}
	s = r.session()
	switch {
	case before != nil && s.CreatedAt.Before(*before):
		return s, sessions.ErrRevoked, nil
	case superseded:
		return s, sessions.ErrSuperseded, nil
	case !rotated:
		return s, sessions.ErrConflict, nil
	}
	return s, nil, nil
}
