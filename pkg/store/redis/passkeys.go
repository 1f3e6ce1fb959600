package redis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/passkey"
)

var _ passkey.Store = (*Store)(nil)

// The passkey keys, in the namespace's slot like every other:
//
//   - {Namespace}:pk:<credential id>: a credential (hash): user id (uid),
//     name, data, sign count (cnt), backup state (bs "1"), created and last
//     used (cat, lat, ms), and the calls that added it and last used it
//     (add, by: a resent script answers as its first send);
//   - {Namespace}:pku:<user id>: the user's credential ids (sorted set,
//     scored by creation ms);
//   - {Namespace}:pkc:<hash>: a challenge record (hash), expiring one day
//     after the challenge does; its expiry proper (exp, ms) is checked by
//     use_passkey_challenge.lua.

// passkeyErrors are the scripts' refusals.
var passkeyErrors = map[string]error{
	"no_credential": passkey.ErrNoCredential,
	"exists":        passkey.ErrCredentialExists,
	"counter_moved": passkey.ErrCounterMoved,
	"no_challenge":  passkey.ErrNoChallenge,
	"used":          passkey.ErrChallengeUsed,
	"expired":       passkey.ErrChallengeExpired,
}

// verdict turns a script's reply into an error.
func verdict(op, v string, err error) error {
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	if err, ok := passkeyErrors[v]; ok {
		return err
	}
	if v != "ok" {
		return fmt.Errorf("redis: %s: unexpected reply %q", op, v)
	}
	return nil
}

// PutPasskeyChallenge implements passkey.Store with one script
// (put_passkey_challenge.lua).
func (st *Store) PutPasskeyChallenge(ctx context.Context, c passkey.Challenge) error {
	v, err := st.run(ctx, "put_passkey_challenge", []string{st.key("pkc", c.Hash)}, string(c.Ceremony), c.UserID,
		ms(c.CreatedAt), ms(c.ExpiresAt), ttl(c.ExpiresAt.Add(tokenRetention), c.CreatedAt)).Text()
	if v == "exists" {
		return passkey.ErrChallengeUsed
	}
	return verdict("put passkey challenge", v, err)
}

// UsePasskeyChallenge implements passkey.Store with one script
// (use_passkey_challenge.lua).
func (st *Store) UsePasskeyChallenge(ctx context.Context, hash string, ceremony passkey.Ceremony, userID string, now time.Time) (passkey.Challenge, error) {
	v, err := st.run(ctx, "use_passkey_challenge", []string{st.key("pkc", hash)}, string(ceremony), userID, ms(now), rand.Text()).StringSlice()
	if err == nil && len(v) != 3 {
		err = errors.New("malformed reply")
	}
	if err != nil {
		return passkey.Challenge{}, fmt.Errorf("redis: use passkey challenge: %w", err)
	}
	if err := verdict("use passkey challenge", v[0], nil); err != nil {
		return passkey.Challenge{}, err
	}
	h := map[string]string{"cat": v[1], "exp": v[2]}
	return passkey.Challenge{Hash: hash, Ceremony: ceremony, UserID: userID, CreatedAt: msTime(h, "cat"), ExpiresAt: msTime(h, "exp")}, nil
}

// AddPasskey implements passkey.Store with one script (add_passkey.lua).
func (st *Store) AddPasskey(ctx context.Context, c passkey.Credential, msgs ...outbox.Message) error {
	mkeys, margs := st.messages(msgs...)
	keys := append([]string{st.key("pk", c.ID), st.key("pku", c.UserID)}, mkeys...)
	args := append([]any{c.ID, c.UserID, c.Name, c.Data, strconv.FormatUint(uint64(c.SignCount), 10), flag(c.BackupState), ms(c.CreatedAt), rand.Text()}, margs...)
	v, err := st.run(ctx, "add_passkey", keys, args...).Text()
	return verdict("add passkey", v, err)
}

// passkeyFrom reads a credential hash.
func passkeyFrom(id string, h map[string]string) passkey.Credential {
	c := passkey.Credential{
		ID: id, UserID: h["uid"], Name: h["name"], Data: []byte(h["data"]), SignCount: uint32(num(h, "cnt")),
		BackupState: h["bs"] == "1", CreatedAt: msTime(h, "cat"),
	}
	if h["lat"] != "" {
		c.LastUsedAt = msTime(h, "lat")
	}
	return c
}

// GetPasskey implements passkey.Store.
func (st *Store) GetPasskey(ctx context.Context, id string) (passkey.Credential, error) {
	h, err := st.DB.HGetAll(ctx, st.key("pk", id)).Result()
	if err != nil {
		return passkey.Credential{}, fmt.Errorf("redis: get passkey: %w", err)
	}
	if len(h) == 0 {
		return passkey.Credential{}, passkey.ErrNoCredential
	}
	return passkeyFrom(id, h), nil
}

// ListPasskeys implements passkey.Store with one script (list_passkeys.lua).
func (st *Store) ListPasskeys(ctx context.Context, userID string) ([]passkey.Credential, error) {
	v, err := st.run(ctx, "list_passkeys", []string{st.key("pku", userID)}, st.prefix("pk")).Slice()
	if err != nil {
		return nil, fmt.Errorf("redis: list passkeys: %w", err)
	}
	var out []passkey.Credential
	for _, e := range v {
		pair, _ := e.([]any)
		if len(pair) != 2 {
			return nil, errors.New("redis: list passkeys: malformed reply")
		}
		id, _ := pair[0].(string)
		out = append(out, passkeyFrom(id, fields(pair[1])))
	}
	return out, nil
}

// UsePasskey implements passkey.Store with one script (use_passkey.lua).
func (st *Store) UsePasskey(ctx context.Context, u passkey.Use) error {
	v, err := st.run(ctx, "use_passkey", []string{st.key("pk", u.ID)}, u.UserID, strconv.FormatUint(uint64(u.From), 10),
		strconv.FormatUint(uint64(u.SignCount), 10), flag(u.BackupState), ms(u.Now), rand.Text()).Text()
	return verdict("use passkey", v, err)
}

// RenamePasskey implements passkey.Store with one script
// (rename_passkey.lua).
func (st *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	v, err := st.run(ctx, "rename_passkey", []string{st.key("pk", id)}, userID, name).Text()
	return verdict("rename passkey", v, err)
}

// RemovePasskey implements passkey.Store with one script
// (remove_passkey.lua). A resend whose first send removed the credential
// answers ErrNoCredential (the notice was written once).
func (st *Store) RemovePasskey(ctx context.Context, userID, id string, msgs ...outbox.Message) error {
	mkeys, margs := st.messages(msgs...)
	keys := append([]string{st.key("pk", id), st.key("pku", userID)}, mkeys...)
	v, err := st.run(ctx, "remove_passkey", keys, append([]any{id, userID}, margs...)...).Text()
	return verdict("remove passkey", v, err)
}
