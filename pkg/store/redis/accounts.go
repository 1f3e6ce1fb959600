package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/users"
)

// The account-recovery keys, in the namespace's slot like every other:
//
//   - {Namespace}:e:<address>: the claim of a verified address, holding the
//     owner's username; exactly one per verified address, set and released
//     by the scripts that verify and change it. The user hash carries the
//     address (email), its verification (ev "1", evat ms) and a pending
//     change (pend).
//   - {Namespace}:t:<record id>: a one-time token record (hash), expiring one
//     day after the token does; its expiry proper (exp, ms) is checked by
//     use_token.lua.

// tokenRetention is how long a record outlives its token before its key
// expires.
const tokenRetention = 24 * time.Hour

// emailFrom adds the address fields of a user hash to u.
func emailFrom(f map[string]string, u *users.User) {
	u.Email, u.EmailVerified, u.PendingEmail = f["email"], f["ev"] == "1", f["pend"]
	if f["evat"] != "" {
		u.EmailVerifiedAt = msTime(f, "evat")
	}
}

// tokenFields are a record's hash fields, as field/value pairs.
func tokenFields(r onetime.Record) []any {
	return []any{"purpose", string(r.Purpose), "uid", r.UserID, "name", r.Username,
		"epoch", strconv.FormatInt(r.Epoch, 10), "email", r.Email, "cat", ms(r.CreatedAt), "exp", ms(r.ExpiresAt)}
}

func tokenFrom(id string, f map[string]string) onetime.Record {
	r := onetime.Record{
		ID: id, Purpose: onetime.Purpose(f["purpose"]), UserID: f["uid"], Username: f["name"],
		Epoch: num(f, "epoch"), Email: f["email"], CreatedAt: msTime(f, "cat"), ExpiresAt: msTime(f, "exp"),
	}
	if f["used"] != "" {
		r.UsedAt = msTime(f, "used")
	}
	return r
}

// messages returns the keys (the waiting set, then each message's hash) and
// the arguments that add msgs (those with an id) in a script.
func (st *Store) messages(msgs ...outbox.Message) (keys []string, args []any) {
	keys = []string{st.waiting()}
	for _, m := range msgs {
		if m.ID != "" {
			keys = append(keys, st.key("o", m.ID))
			args = append(args, MessageArgs(m)...)
		}
	}
	return keys, args
}

// CreateAccount implements auth.AccountStore with one script
// (create_account.lua): the user, and either the verification record with
// its mail or, when another account claims the address, the owner's notice.
func (st *Store) CreateAccount(ctx context.Context, u users.User, verify onetime.Record, sent, taken outbox.Message) error {
	if u.Email == "" {
		return st.CreateUser(ctx, u)
	}
	f := tokenFields(verify)
	args := append([]any{u.ID, u.PasswordHash, ms(u.CreatedAt), ms(u.UpdatedAt), u.Email,
		ttl(verify.ExpiresAt.Add(tokenRetention), verify.CreatedAt), len(f) / 2}, f...)
	none := outbox.Message{}
	for _, m := range []outbox.Message{sent, taken} {
		if m.ID == "" {
			m = none
		}
		args = append(args, MessageArgs(m)...)
	}
	keys := []string{st.key("u", u.Username), st.key("e", u.Email), st.key("t", verify.ID), st.waiting(),
		st.key("o", sent.ID), st.key("o", taken.ID), st.key("sk", users.SkeletonOf(u))}
	v, err := st.run(ctx, "create_account", keys, args...).StringSlice()
	if err != nil {
		return fmt.Errorf("redis: create account: %w", err)
	}
	switch {
	case len(v) != 2:
		return errors.New("redis: create account: malformed reply")
	case v[0] != u.ID:
		return users.ErrTaken
	case v[1] == "email_taken":
		return users.ErrEmailTaken
	}
	return nil
}

// IssueToken implements auth.AccountStore with one script (issue_token.lua).
func (st *Store) IssueToken(ctx context.Context, rec onetime.Record, msgs ...outbox.Message) error {
	pending := ""
	if rec.Purpose == onetime.EmailChange {
		pending = rec.Email
	}
	mkeys, margs := st.messages(msgs...)
	f := tokenFields(rec)
	args := append([]any{rec.UserID, strconv.FormatInt(rec.Epoch, 10), pending,
		ttl(rec.ExpiresAt.Add(tokenRetention), rec.CreatedAt), len(f) / 2}, f...)
	keys := append([]string{st.key("u", rec.Username), st.key("t", rec.ID)}, mkeys...)
	res, err := st.run(ctx, "issue_token", keys, append(args, margs...)...).Text()
	if err != nil {
		return fmt.Errorf("redis: issue token: %w", err)
	}
	switch res {
	case "ok":
		return nil
	case "not_found":
		return users.ErrNotFound
	case "stale":
		return onetime.ErrStale
	}
	return fmt.Errorf("redis: issue token: unexpected reply %q", res)
}

// GetToken implements auth.AccountStore with one HGETALL.
func (st *Store) GetToken(ctx context.Context, id string) (onetime.Record, error) {
	f, err := st.DB.HGetAll(ctx, st.key("t", id)).Result()
	if err != nil {
		return onetime.Record{}, fmt.Errorf("redis: get token: %w", err)
	}
	if len(f) == 0 {
		return onetime.Record{}, onetime.ErrNotFound
	}
	return tokenFrom(id, f), nil
}

// useErrors are use_token.lua's refusals.
var useErrors = map[string]error{
	"not_found":   onetime.ErrNotFound,
	"used":        onetime.ErrUsed,
	"expired":     onetime.ErrExpired,
	"stale":       onetime.ErrStale,
	"email_taken": users.ErrEmailTaken,
}

// UseToken implements auth.AccountStore with one script (use_token.lua),
// which returns the user as written. go-redis resends a script whose answer
// was lost: the record names the call that used it, so the resend answers
// as the first send did instead of refusing a second use.
func (st *Store) UseToken(ctx context.Context, use onetime.Use) (users.User, error) {
	rec := use.Record
	mkeys, margs := st.messages(use.Messages...)
	keys := append([]string{st.key("t", rec.ID), st.key("u", rec.Username), st.key("l", rec.Username), st.key("e", rec.Email)}, mkeys...)
	args := append([]any{string(rec.Purpose), rec.UserID, rec.Username, ms(use.Now), strconv.FormatInt(rec.Epoch, 10),
		rec.Email, use.PasswordHash, st.prefix("e"), rand.Text()}, margs...)
	v, err := st.run(ctx, "use_token", keys, args...).Slice()
	if err != nil {
		return users.User{}, fmt.Errorf("redis: use token: %w", err)
	}
	if len(v) == 0 {
		return users.User{}, errors.New("redis: use token: malformed reply")
	}
	status, _ := v[0].(string)
	if err, ok := useErrors[status]; ok {
		return users.User{}, err
	}
	if status != "ok" {
		return users.User{}, fmt.Errorf("redis: use token: unexpected reply %q", status)
	}
	return userFrom(rec.Username, v[1:])
}

// UserByEmail implements auth.AccountStore with one script
// (user_by_email.lua): the address's claim and its holder, read at once.
func (st *Store) UserByEmail(ctx context.Context, email string) (users.User, error) {
	v, err := st.run(ctx, "user_by_email", []string{st.key("e", email)}, st.prefix("u"), st.prefix("l")).Slice()
	if err != nil {
		return users.User{}, fmt.Errorf("redis: user by email: %w", err)
	}
	if len(v) != 3 {
		return users.User{}, users.ErrNotFound
	}
	name, _ := v[0].(string)
	u, err := userFrom(name, v[1:])
	if err != nil {
		return users.User{}, err
	}
	if u.Email != email || !u.EmailVerified {
		return users.User{}, users.ErrNotFound
	}
	return u, nil
}

// AddMessages implements auth.AccountStore with one script (add_messages.lua).
func (st *Store) AddMessages(ctx context.Context, msgs ...outbox.Message) error {
	keys, args := st.messages(msgs...)
	if len(keys) == 1 {
		return nil
	}
	if err := st.run(ctx, "add_messages", keys, args...).Err(); err != nil {
		return fmt.Errorf("redis: add messages: %w", err)
	}
	return nil
}

// ChangePassword implements auth.AccountStore with one script
// (change_password.lua): SetPasswordHash's update and msgs, added only when
// the update lands.
func (st *Store) ChangePassword(ctx context.Context, username, userID string, epoch int64, hash string, now time.Time, msgs ...outbox.Message) error {
	mkeys, margs := st.messages(msgs...)
	keys := append([]string{st.key("u", username)}, mkeys...)
	args := append([]any{userID, hash, ms(now), epoch}, margs...)
	n, err := st.run(ctx, "change_password", keys, args...).Int()
	switch {
	case err != nil:
		return fmt.Errorf("redis: change password: %w", err)
	case n == 0:
		return users.ErrNotFound
	case n == 2:
		return users.ErrStale
	}
	return nil
}
