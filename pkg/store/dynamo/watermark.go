package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rotor-auth/rotor/pkg/sessions"
)

// WatermarkTTL is how long a store (one per warm Lambda container) uses a
// revocation watermark it read, counted from when the read was sent. It is
// a constant, not a setting: RevokeBefore waits this long before it
// returns, in the CLI's process, and that wait is what makes "after
// revoke-all returns, no older session refreshes" hold for the functions'
// caches too, so both must agree.
const WatermarkTTL = 5 * time.Second

// watermarkKey is the sessions-table item holding the revocation watermark;
// no session id (base64url) can contain '#'.
const watermarkKey = "#revoked-before"

func watermarkFrom(it item) time.Time {
	if it == nil {
		return time.Time{}
	}
	return it.ms("revoked_before")
}

// seen is a watermark and when the strongly consistent read that returned it
// was sent: the value was in force at sent, or later.
type seen struct {
	before time.Time
	sent   time.Time
}

// watermarkCache is the watermark this store last read.
type watermarkCache struct {
	mu   sync.Mutex
	last seen
	ok   bool
}

func (st *Store) now() time.Time {
	if st.Now != nil {
		return st.Now()
	}
	return time.Now()
}

func (st *Store) ttl() time.Duration {
	if st.WatermarkTTL > 0 {
		return st.WatermarkTTL
	}
	return WatermarkTTL
}

// fresh reports whether a watermark read sent at w.sent may still be used
// now. Both clocks must say so: the monotonic one (immune to the wall clock
// being set back) and the wall clock (which keeps running while a Lambda
// environment is frozen between invocations, whatever the monotonic clock
// does then).
func (st *Store) fresh(w seen) bool {
	now := st.now()
	return now.Sub(w.sent) < st.ttl() && now.Round(0).Sub(w.sent.Round(0)) < st.ttl()
}

// remember keeps w if it was read after what the cache holds.
func (st *Store) remember(w seen) {
	st.wm.mu.Lock()
	defer st.wm.mu.Unlock()
	if !st.wm.ok || w.sent.After(st.wm.last.sent) {
		st.wm.last, st.wm.ok = w, true
	}
}

// cached returns the watermark held, if still fresh.
func (st *Store) cached() (seen, bool) {
	st.wm.mu.Lock()
	w, ok := st.wm.last, st.wm.ok
	st.wm.mu.Unlock()
	return w, ok && st.fresh(w)
}

// watermark returns a fresh watermark: the one held, or a new strongly
// consistent read (one GetItem per container per WatermarkTTL).
func (st *Store) watermark(ctx context.Context) (seen, error) {
	if w, ok := st.cached(); ok {
		return w, nil
	}
	sent := st.now()
	out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.Tables.Sessions),
		Key:            item{"session_id": s(watermarkKey)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return seen{}, fmt.Errorf("dynamo: read the revocation watermark: %w", err)
	}
	w := seen{before: watermarkFrom(out.Item), sent: sent}
	st.remember(w)
	return w, nil
}

// revokedSince returns ErrRevoked when x was created before the watermark w,
// or before a fresh one if w has gone stale since it was used (a call that
// outlived the cache lifetime may have been applied after a revoke-all
// returned: its answer must not be a success).
//
// Why this keeps revoke-all's promise: a write conditioned on w (read sent
// at w.sent) and answered while w is fresh was applied before
// w.sent+WatermarkTTL. If w missed the revoke-all's write, w.sent came
// before that write completed, so the rotation was applied before the
// write's completion plus WatermarkTTL, which RevokeBefore waits out before
// it returns: the rotation happened before revoke-all returned.
func (st *Store) revokedSince(ctx context.Context, x sessions.Session, w seen) error {
	if !st.fresh(w) {
		var err error
		if w, err = st.watermark(ctx); err != nil {
			return err
		}
	}
	if x.CreatedAt.Before(w.before) {
		return sessions.ErrRevoked
	}
	return nil
}

// RevokeBefore implements sessions.Store: one conditional UpdateItem that
// only moves the watermark forward, then a wait of WatermarkTTL, after
// which every store's cached watermark was read after the write: from the
// return on, no store in any container rotates, replays or passes a
// session created before the watermark.
func (st *Store) RevokeBefore(ctx context.Context, t time.Time) (time.Time, error) {
	sent := st.now()
	out, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(st.Tables.Sessions),
		Key:                                 item{"session_id": s(watermarkKey)},
		UpdateExpression:                    aws.String("SET revoked_before = :t"),
		ConditionExpression:                 aws.String("attribute_not_exists(revoked_before) OR revoked_before < :t"),
		ExpressionAttributeValues:           item{":t": ms(t)},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var w time.Time
	if c, ok := isConditionFailed(err); ok {
		w = watermarkFrom(c.Item) // already later
	} else if err != nil {
		return time.Time{}, fmt.Errorf("dynamo: move the revocation watermark: %w", err)
	} else {
		w = watermarkFrom(out.Attributes)
	}
	st.remember(seen{before: w, sent: sent})
	// Wait even when the watermark was already later: a revoke-all that
	// moved it may still be waiting, and this one must not return first.
	if err := st.wait(ctx, st.ttl()); err != nil {
		return time.Time{}, fmt.Errorf("dynamo: revocation watermark moved to %s; waiting for the functions' caches: %w", w.Format(time.RFC3339Nano), err)
	}
	return w, nil
}

func (st *Store) wait(ctx context.Context, d time.Duration) error {
	if st.Sleep != nil {
		return st.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// GetSessionAndWatermark implements sessions.Store: the session (one
// strongly consistent GetItem) and the watermark this store holds, if it is
// still fresh once the session is read; otherwise one BatchGetItem of both
// items, strongly consistent, whose watermark the store then keeps.
func (st *Store) GetSessionAndWatermark(ctx context.Context, id string) (sessions.Session, time.Time, error) {
	if id == watermarkKey {
		return sessions.Session{}, time.Time{}, sessions.ErrNotFound
	}
	if _, ok := st.cached(); ok {
		x, err := st.GetSession(ctx, id)
		if err != nil && !errors.Is(err, sessions.ErrNotFound) {
			return sessions.Session{}, time.Time{}, err
		}
		// Fresh when the answer is used, not only when the call was made.
		if w, ok := st.cached(); ok {
			return x, w.before, err
		}
	}
	var x *sessions.Session
	var before time.Time
	sent := st.now()
	err := st.batchGet(ctx, st.Tables.Sessions, "session_id", []string{id, watermarkKey}, "", func(it item) {
		if it.str("session_id") == watermarkKey {
			before = watermarkFrom(it)
			return
		}
		v := sessionFrom(it)
		x = &v
	})
	if err != nil {
		return sessions.Session{}, time.Time{}, err
	}
	st.remember(seen{before: before, sent: sent})
	if x == nil {
		return sessions.Session{}, before, sessions.ErrNotFound
	}
	return *x, before, nil
}
