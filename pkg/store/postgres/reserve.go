package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// Reserve implements throttle.Store in one round trip: a batch of two
// statements in one implicit transaction, the keys' advisory locks
// (reserve_lock.sql), then the check and the count (reserve.sql).
func (st *Store) Reserve(ctx context.Context, counters []throttle.Counter, now time.Time) (throttle.Reservation, error) {
	_, _, r, err := st.reserve(ctx, nil, counters, now)
	return r, err
}

// ReserveLogin implements auth.LoginStore with the same one batch, whose
// second statement also reads the user, its session list and the
// revocation watermark.
func (st *Store) ReserveLogin(ctx context.Context, username string, counters []throttle.Counter, now time.Time) (users.User, time.Time, throttle.Reservation, error) {
	u, w, r, err := st.reserve(ctx, &username, counters, now)
	if err != nil {
		return users.User{}, time.Time{}, throttle.Reservation{}, err
	}
	if u.id == nil {
		return users.User{}, w, r, users.ErrNotFound
	}
	return u.user(), w, r, nil
}

func (st *Store) reserve(ctx context.Context, username *string, counters []throttle.Counter, now time.Time) (u userRow, w time.Time, r throttle.Reservation, err error) {
	n := len(counters)
	keys, maxes := make([]string, n), make([]int32, n)
	base, caps, forget := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, c := range counters {
		keys[i], maxes[i] = c.Key, int32(c.Policy.MaxFailures)
		base[i], caps[i], forget[i] = c.Policy.Base.Milliseconds(), c.Policy.Max.Milliseconds(), c.Policy.Forget().Milliseconds()
	}
	b := &pgx.Batch{}
	b.Queue(st.q("reserve_lock"), pgx.NamedArgs{"keys": keys})
	b.Queue(st.q("reserve"), pgx.NamedArgs{
		"keys": keys, "max_failures": maxes, "base_ms": base, "cap_ms": caps, "forget_ms": forget,
		"now": now, "purge": st.purge(), "username": username,
	})
	res := st.DB.SendBatch(ctx, b)
	defer func() {
		if cerr := res.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("postgres: reserve: %w", cerr)
		}
	}()
	if _, err := res.Exec(); err != nil {
		return userRow{}, time.Time{}, throttle.Reservation{}, fmt.Errorf("postgres: reserve: lock: %w", err)
	}
	var failures []int32
	var last []*time.Time
	var watermark *time.Time
	if err := res.QueryRow().Scan(append([]any{&r.OK, &failures, &last, &watermark}, u.dest()...)...); err != nil {
		return userRow{}, time.Time{}, throttle.Reservation{}, fmt.Errorf("postgres: reserve: %w", err)
	}
	if len(failures) != n || len(last) != n {
		return userRow{}, time.Time{}, throttle.Reservation{}, fmt.Errorf("postgres: reserve: %d states for %d counters", len(failures), n)
	}
	r.States = make([]throttle.State, n)
	for i := range n {
		r.States[i].Failures = int(failures[i])
		if last[i] != nil {
			r.States[i].LastFailure = last[i].UTC()
		}
	}
	if watermark != nil {
		w = watermark.UTC()
	}
	return u, w, r, nil
}

// Release implements throttle.Store in one round trip: a batch (one
// implicit transaction) that takes the keys' advisory locks, as Reserve
// does, then changes their rows (release.sql). Both take the rows of several
// keys only under their advisory locks, taken in one order, so a release and
// a reservation of the same keys never deadlock on the rows.
func (st *Store) Release(ctx context.Context, reset, giveBack []string) (err error) {
	if len(reset)+len(giveBack) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(st.q("reserve_lock"), pgx.NamedArgs{"keys": append(append([]string{}, reset...), giveBack...)})
	b.Queue(st.q("release"), pgx.NamedArgs{"reset": append([]string{}, reset...), "give_back": append([]string{}, giveBack...)})
	res := st.DB.SendBatch(ctx, b)
	defer func() {
		if cerr := res.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("postgres: release: %w", cerr)
		}
	}()
	for range 2 {
		if _, err := res.Exec(); err != nil {
			return fmt.Errorf("postgres: release: %w", err)
		}
	}
	return nil
}
