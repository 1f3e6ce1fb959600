package dynamo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// maxReserveAttempts bounds the compare-and-set retries of one counter's
// reservation when other reservations keep moving it.
const maxReserveAttempts = 8

// Reserve implements throttle.Store with one conditional UpdateItem per
// counter, sent concurrently (one round trip of latency). DynamoDB has no
// atomic step across items that returns what it read, so each counter is
// reserved atomically on its own: a counter counts the guess only while it
// is not locked, so no counter lets more than its limit through, whatever
// the others do. When one counter refuses, the slots the others took are
// given back (one more round trip, on that path only).
func (st *Store) Reserve(ctx context.Context, counters []throttle.Counter, now time.Time) (throttle.Reservation, error) {
	return st.reserve(ctx, counters, now, nil)
}

// ReserveLogin implements auth.LoginStore: the reservations of Reserve and
// one BatchGetItem of the user and the revocation watermark (strongly
// consistent), all sent at once, so a login's happy path is two round trips
// of latency: this and the session's write.
func (st *Store) ReserveLogin(ctx context.Context, username string, counters []throttle.Counter, now time.Time) (users.User, time.Time, throttle.Reservation, error) {
	var u *users.User
	var w time.Time
	r, err := st.reserve(ctx, counters, now, func(ctx context.Context) error {
		var err error
		u, w, err = st.userAndWatermark(ctx, username)
		return err
	})
	if err != nil {
		return users.User{}, time.Time{}, throttle.Reservation{}, err
	}
	if u == nil {
		return users.User{}, w, r, users.ErrNotFound
	}
	return *u, w, r, nil
}

// reserve reserves under every counter, running also (when not nil) at the
// same time.
func (st *Store) reserve(ctx context.Context, counters []throttle.Counter, now time.Time, also func(context.Context) error) (throttle.Reservation, error) {
	id := rand.Text()
	r := throttle.Reservation{OK: true, States: make([]throttle.State, len(counters))}
	before := make([]throttle.State, len(counters))
	taken := make([]bool, len(counters))
	errs := make([]error, len(counters)+1)
	var wg sync.WaitGroup
	for i, c := range counters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			before[i], r.States[i], taken[i], errs[i] = st.reserveOne(ctx, c, now, id)
		}()
	}
	if also != nil {
		wg.Add(1)
		go func() { defer wg.Done(); errs[len(counters)] = also(ctx) }()
	}
	wg.Wait()
	for i := range counters {
		r.OK = r.OK && taken[i]
	}
	if err := errors.Join(errs...); err != nil || !r.OK {
		// Nothing half counted stays counted: a guess refused (or failed)
		// under one counter takes back what it counted under the others.
		for i, c := range counters {
			if taken[i] {
				err = errors.Join(err, st.unreserve(ctx, c.Key, id, before[i]))
				r.States[i] = before[i]
			}
		}
		if err != nil {
			return throttle.Reservation{}, err
		}
	}
	return r, nil
}

// unreserve takes back the failure reservation id counted under key, whose
// state before was was: while no other reservation came since, the item is
// put back as it was (so the last failure's time does not move); else one
// slot is given back.
func (st *Store) unreserve(ctx context.Context, key, id string, was throttle.State) error {
	update, values := "ADD failures :minus SET last_failure = :last, last_release = :rel", item{":minus": n(-1), ":id": s(id), ":rel": s(id + "-back"), ":last": ms(was.LastFailure)}
	if was.LastFailure.IsZero() {
		update = "ADD failures :minus SET last_release = :rel REMOVE last_failure"
		delete(values, ":last")
	}
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(st.Tables.Attempts),
		Key:                                 item{"username": s(key)},
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 aws.String("last_attempt = :id AND (attribute_not_exists(last_release) OR last_release <> :rel)"),
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if failed, ok := isConditionFailed(err); ok {
		if item(failed.Item).str("last_release") == id+"-back" {
			return nil // a resend of a send that was applied
		}
		return st.Release(ctx, nil, []string{key})
	}
	if err != nil {
		return fmt.Errorf("dynamo: take back %s: %w", key, err)
	}
	return nil
}

// reserveOne counts a failure under c unless c is locked at now, in one
// conditional UpdateItem on the fast path: not yet at the limit, or the last
// failure longer ago than the longest lock (and not after now). Otherwise the lock is computed
// here from the item as it was (the doubling is not expressible in a
// condition), and a lock that is over is counted by a compare-and-set on the
// failures read. id marks the item: a resend whose first send was applied
// fails its condition and finds it, and counts nothing again.
// It returns the state before and after.
func (st *Store) reserveOne(ctx context.Context, c throttle.Counter, now time.Time, id string) (was, is throttle.State, ok bool, err error) {
	in := &dynamodb.UpdateItemInput{
		TableName:        aws.String(st.Tables.Attempts),
		Key:              item{"username": s(c.Key)},
		UpdateExpression: aws.String("ADD failures :one SET last_failure = :now, expires_at = :exp, last_attempt = :id"),
		ConditionExpression: aws.String("(attribute_not_exists(last_attempt) OR last_attempt <> :id)" +
			" AND (attribute_not_exists(failures) OR failures < :max OR last_failure <= :free)" +
			" AND (attribute_not_exists(last_failure) OR last_failure <= :now)"),
		ExpressionAttributeValues: item{
			":one": n(1), ":now": ms(now), ":exp": sec(now.Add(c.Policy.Forget())), ":id": s(id),
			":max": n(int64(c.Policy.MaxFailures)), ":free": ms(now.Add(-c.Policy.Max)),
		},
		ReturnValues:                        types.ReturnValueAllOld,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	for attempt := 1; ; attempt++ {
		out, err := st.DB.UpdateItem(ctx, in)
		failed, cond := isConditionFailed(err)
		if !cond {
			if err != nil {
				return was, is, false, fmt.Errorf("dynamo: reserve %s: %w", c.Key, err)
			}
			was = attemptsFrom(out.Attributes)
			return was, throttle.Counted(was, now), true, nil
		}
		old := item(failed.Item)
		if old.str("last_attempt") == id {
			// A resend of a send that was applied: the state it left. What
			// was before it is one failure fewer, at a time not kept; the
			// take-back, if any, then only gives back the slot.
			is = attemptsFrom(old)
			return throttle.Uncounted(is), is, true, nil
		}
		seen := attemptsFrom(old)
		if c.Policy.Locked(seen, now) {
			return seen, seen, false, nil
		}
		if attempt == maxReserveAttempts {
			return was, is, false, fmt.Errorf("dynamo: reserve %s: still contended after %d attempts", c.Key, attempt)
		}
		// The lock is over (or the last failure was stamped by a clock
		// ahead of ours, which the update must not move back): count on
		// condition that nobody counted since.
		last := now
		if seen.LastFailure.After(now) {
			last = seen.LastFailure
		}
		in.ConditionExpression = aws.String("(attribute_not_exists(last_attempt) OR last_attempt <> :id)" +
			" AND failures = :seen AND last_failure = :seen_last")
		in.ExpressionAttributeValues = item{
			":one": n(1), ":now": ms(last), ":exp": sec(last.Add(c.Policy.Forget())), ":id": s(id),
			":seen": n(int64(seen.Failures)), ":seen_last": ms(seen.LastFailure),
		}
	}
}

// Release implements throttle.Store: a DeleteItem per key to reset and a
// conditional decrement per key to give back, sent concurrently. Each
// decrement writes the release's id, on condition that the item does not
// carry it yet, so a resend gives back once.
func (st *Store) Release(ctx context.Context, reset, giveBack []string) error {
	id := rand.Text()
	errs := make([]error, len(reset)+len(giveBack))
	var wg sync.WaitGroup
	for i, k := range reset {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = st.ResetAttempts(ctx, k) }()
	}
	for i, k := range giveBack {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName:                 aws.String(st.Tables.Attempts),
				Key:                       item{"username": s(k)},
				UpdateExpression:          aws.String("ADD failures :minus SET last_release = :id"),
				ConditionExpression:       aws.String("failures > :zero AND (attribute_not_exists(last_release) OR last_release <> :id)"),
				ExpressionAttributeValues: item{":minus": n(-1), ":zero": n(0), ":id": s(id)},
			})
			if _, ok := isConditionFailed(err); ok {
				err = nil // nothing to give back, or given back by an earlier send
			}
			if err != nil {
				err = fmt.Errorf("dynamo: give back %s: %w", k, err)
			}
			errs[len(reset)+i] = err
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// userAndWatermark reads the user (nil when unknown) and the revocation
// watermark in one BatchGetItem across the two tables, strongly consistent.
func (st *Store) userAndWatermark(ctx context.Context, username string) (*users.User, time.Time, error) {
	pending := map[string]types.KeysAndAttributes{
		st.Tables.Users:    {Keys: []map[string]types.AttributeValue{{"username": s(username)}}, ConsistentRead: aws.Bool(true)},
		st.Tables.Sessions: {Keys: []map[string]types.AttributeValue{{"session_id": s(watermarkKey)}}, ConsistentRead: aws.Bool(true)},
	}
	var u *users.User
	var w time.Time
	sent := st.now()
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt == 8 {
			return nil, time.Time{}, errors.New("dynamo: reserve login: keys still unprocessed")
		}
		if attempt > 0 {
			if err := sleep(ctx, attempt); err != nil {
				return nil, time.Time{}, err
			}
		}
		out, err := st.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("dynamo: reserve login: %w", err)
		}
		for _, it := range out.Responses[st.Tables.Users] {
			x := userFrom(it)
			u = &x
		}
		for _, it := range out.Responses[st.Tables.Sessions] {
			w = watermarkFrom(it)
		}
		pending = out.UnprocessedKeys
	}
	st.remember(seen{before: w, sent: sent})
	return u, w, nil
}
