package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// Reserve implements throttle.Store with one script (reserve.lua): the
// locks are checked and every counter counted at one instant.
func (st *Store) Reserve(ctx context.Context, counters []throttle.Counter, now time.Time) (throttle.Reservation, error) {
	v, err := st.reserve(ctx, nil, counters, now)
	if err != nil {
		return throttle.Reservation{}, err
	}
	return reservationFrom(v, len(counters))
}

// ReserveLogin implements auth.LoginStore with the same one script, which
// also reads the user, its session list and the revocation watermark.
func (st *Store) ReserveLogin(ctx context.Context, username string, counters []throttle.Counter, now time.Time) (users.User, time.Time, throttle.Reservation, error) {
	v, err := st.reserve(ctx, []string{st.key("u", username), st.key("l", username), st.watermark()}, counters, now)
	if err != nil {
		return users.User{}, time.Time{}, throttle.Reservation{}, err
	}
	if len(v) != 5 {
		return users.User{}, time.Time{}, throttle.Reservation{}, errors.New("redis: reserve login: malformed reply")
	}
	r, err := reservationFrom(v, len(counters))
	if err != nil {
		return users.User{}, time.Time{}, throttle.Reservation{}, err
	}
	var w time.Time
	if s, ok := v[4].(string); ok {
		n, _ := strconv.ParseInt(s, 10, 64)
		w = time.UnixMilli(n).UTC()
	}
	u, err := userFrom(username, v[2:4])
	return u, w, r, err
}

func (st *Store) reserve(ctx context.Context, login []string, counters []throttle.Counter, now time.Time) ([]any, error) {
	keys := append([]string{}, login...)
	args := []any{len(login), ms(now), rand.Text()}
	for _, c := range counters {
		keys = append(keys, st.key("a", c.Key))
		args = append(args, c.Policy.MaxFailures, c.Policy.Base.Milliseconds(), c.Policy.Max.Milliseconds(), c.Policy.Forget().Milliseconds())
	}
	v, err := st.run(ctx, "reserve", keys, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("redis: reserve: %w", err)
	}
	return v, nil
}

// reservationFrom reads {ok, {{failures, last}...}, ...}.
func reservationFrom(v []any, n int) (throttle.Reservation, error) {
	if len(v) < 2 {
		return throttle.Reservation{}, errors.New("redis: reserve: malformed reply")
	}
	ok, _ := v[0].(int64)
	list, _ := v[1].([]any)
	if len(list) != n {
		return throttle.Reservation{}, fmt.Errorf("redis: reserve: %d states for %d counters", len(list), n)
	}
	r := throttle.Reservation{OK: ok == 1, States: make([]throttle.State, n)}
	for i, x := range list {
		pair, _ := x.([]any)
		if len(pair) != 2 {
			return throttle.Reservation{}, errors.New("redis: reserve: malformed state")
		}
		failures, _ := pair[0].(int64)
		last, _ := pair[1].(int64)
		r.States[i].Failures = int(failures)
		if last > 0 {
			r.States[i].LastFailure = time.UnixMilli(last).UTC()
		}
	}
	return r, nil
}

// Release implements throttle.Store with one script (release.lua).
func (st *Store) Release(ctx context.Context, reset, giveBack []string) error {
	if len(reset)+len(giveBack) == 0 {
		return nil
	}
	keys := make([]string, 0, len(reset)+len(giveBack))
	for _, k := range append(append([]string{}, reset...), giveBack...) {
		keys = append(keys, st.key("a", k))
	}
	if err := st.run(ctx, "release", keys, len(reset), rand.Text()).Err(); err != nil {
		return fmt.Errorf("redis: release: %w", err)
	}
	return nil
}
