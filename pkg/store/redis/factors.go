package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"

	"github.com/rotor-auth/rotor/pkg/mfa"
)

var _ mfa.Store = (*Store)(nil)

// The second-factor keys, in the namespace's slot like every other:
//
//   - {Namespace}:f:<user id>: the user's factor (hash): the sealed secret
//     (sealed), confirmed (conf "1"), created and confirmed (cat, confat,
//     ms), the last accepted step (step), the call that last used it (by);
//   - {Namespace}:fc:<user id>: the keyed hashes of its unused recovery
//     codes (a set);
//   - {Namespace}:m:<record id>: an mfa_token record (hash), expiring one day
//     after the token does; its expiry proper (exp, ms) is checked by
//     use_factor.lua.

// GetFactor implements mfa.Store with one script (get_factor.lua).
func (st *Store) GetFactor(ctx context.Context, userID string) (mfa.Factor, error) {
	v, err := st.run(ctx, "get_factor", []string{st.key("f", userID), st.key("fc", userID)}).Slice()
	if err != nil {
		return mfa.Factor{}, fmt.Errorf("redis: get factor: %w", err)
	}
	if len(v) != 2 {
		return mfa.Factor{}, errors.New("redis: get factor: malformed reply")
	}
	h := fields(v[0])
	if len(h) == 0 {
		return mfa.Factor{}, mfa.ErrNoFactor
	}
	f := mfa.Factor{UserID: userID, Sealed: h["sealed"], Confirmed: h["conf"] == "1", CreatedAt: msTime(h, "cat"), LastStep: num(h, "step")}
	if h["confat"] != "" {
		f.ConfirmedAt = msTime(h, "confat")
	}
	codes, _ := v[1].([]any)
	for _, c := range codes {
		if s, ok := c.(string); ok {
			f.Codes = append(f.Codes, s)
		}
	}
	return f, nil
}

// PutFactor implements mfa.Store with one script (put_factor.lua).
func (st *Store) PutFactor(ctx context.Context, f mfa.Factor) error {
	v, err := st.run(ctx, "put_factor", []string{st.key("f", f.UserID), st.key("fc", f.UserID)}, f.UserID, f.Sealed, ms(f.CreatedAt)).Text()
	switch {
	case err != nil:
		return fmt.Errorf("redis: put factor: %w", err)
	case v == "enrolled":
		return mfa.ErrEnrolled
	case v != "ok":
		return fmt.Errorf("redis: put factor: unexpected reply %q", v)
	}
	return nil
}

// factorErrors are use_factor.lua's refusals.
var factorErrors = map[string]error{
	"no_factor":         mfa.ErrNoFactor,
	"replayed":          mfa.ErrReplayed,
	"code_used":         mfa.ErrCodeUsed,
	"no_challenge":      mfa.ErrNoChallenge,
	"challenge_used":    mfa.ErrChallengeUsed,
	"challenge_expired": mfa.ErrChallengeExpired,
	"enrolled":          mfa.ErrEnrolled,
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// UseFactor implements mfa.Store with one script (use_factor.lua). go-redis
// resends a script whose answer was lost: the factor names the call that
// last used it, so the resend answers as the first send did.
func (st *Store) UseFactor(ctx context.Context, u mfa.Use) error {
	ch := st.key("m", u.Challenge)
	mkeys, margs := st.messages(u.Messages...)
	keys := append([]string{st.key("f", u.UserID), st.key("fc", u.UserID), ch}, mkeys...)
	args := []any{u.UserID, ms(u.CreatedAt), ms(u.Now), strconv.FormatInt(u.Step, 10), u.Code, u.Challenge,
		flag(u.Confirm), flag(u.Codes != nil), u.Sealed, flag(u.Remove), rand.Text(), len(u.Codes)}
	for _, c := range u.Codes {
		args = append(args, c)
	}
	v, err := st.run(ctx, "use_factor", keys, append(args, margs...)...).Text()
	if err != nil {
		return fmt.Errorf("redis: use factor: %w", err)
	}
	if err, ok := factorErrors[v]; ok {
		return err
	}
	if v != "ok" {
		return fmt.Errorf("redis: use factor: unexpected reply %q", v)
	}
	return nil
}

// PutChallenge implements mfa.Store with one script (put_challenge.lua).
func (st *Store) PutChallenge(ctx context.Context, c mfa.Challenge) error {
	v, err := st.run(ctx, "put_challenge", []string{st.key("m", c.ID)}, c.UserID, c.Username, strconv.FormatInt(c.Epoch, 10),
		c.Device, ms(c.CreatedAt), ms(c.ExpiresAt), ttl(c.ExpiresAt.Add(tokenRetention), c.CreatedAt)).Text()
	switch {
	case err != nil:
		return fmt.Errorf("redis: put mfa_token record: %w", err)
	case v == "exists":
		return mfa.ErrChallengeUsed
	case v != "ok":
		return fmt.Errorf("redis: put mfa_token record: unexpected reply %q", v)
	}
	return nil
}

// GetChallenge implements mfa.Store.
func (st *Store) GetChallenge(ctx context.Context, id string) (mfa.Challenge, error) {
	h, err := st.DB.HGetAll(ctx, st.key("m", id)).Result()
	if err != nil {
		return mfa.Challenge{}, fmt.Errorf("redis: get mfa_token record: %w", err)
	}
	if len(h) == 0 {
		return mfa.Challenge{}, mfa.ErrNoChallenge
	}
	c := mfa.Challenge{ID: id, UserID: h["uid"], Username: h["name"], Epoch: num(h, "epoch"), Device: h["dev"], CreatedAt: msTime(h, "cat"), ExpiresAt: msTime(h, "exp")}
	if h["used"] != "" {
		c.UsedAt = msTime(h, "used")
	}
	return c, nil
}
