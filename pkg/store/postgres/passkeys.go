package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/passkey"
)

var _ passkey.Store = (*Store)(nil)

// Passkeys live in the passkeys and passkey_challenges tables (migration
// 009). Each write is one statement; a refused conditional write is
// followed by a read that only names the refusal.

// PutPasskeyChallenge implements passkey.Store with one statement
// (put_passkey_challenge.sql), which also purges a few expired records.
func (st *Store) PutPasskeyChallenge(ctx context.Context, c passkey.Challenge) error {
	var ok bool
	err := st.DB.QueryRow(ctx, st.q("put_passkey_challenge"), pgx.NamedArgs{
		"hash": c.Hash, "ceremony": string(c.Ceremony), "user_id": c.UserID,
		"created_at": c.CreatedAt, "expires_at": c.ExpiresAt, "purge": st.purge(),
	}).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return passkey.ErrChallengeUsed
	}
	if err != nil {
		return fmt.Errorf("postgres: put passkey challenge: %w", err)
	}
	return nil
}

// UsePasskeyChallenge implements passkey.Store with one conditional update
// (use_passkey_challenge.sql).
func (st *Store) UsePasskeyChallenge(ctx context.Context, hash string, ceremony passkey.Ceremony, userID string, now time.Time) (passkey.Challenge, error) {
	c := passkey.Challenge{Hash: hash, Ceremony: ceremony, UserID: userID}
	err := st.DB.QueryRow(ctx, st.q("use_passkey_challenge"), pgx.NamedArgs{
		"hash": hash, "ceremony": string(ceremony), "user_id": userID, "now": now,
	}).Scan(&c.CreatedAt, &c.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return passkey.Challenge{}, st.challengeRefusal(ctx, hash, ceremony, userID, now)
	}
	if err != nil {
		return passkey.Challenge{}, fmt.Errorf("postgres: use passkey challenge: %w", err)
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	return c, nil
}

// challengeRefusal names why use_passkey_challenge.sql matched nothing.
func (st *Store) challengeRefusal(ctx context.Context, hash string, ceremony passkey.Ceremony, userID string, now time.Time) error {
	var (
		gotCeremony, gotUser string
		used                 bool
		expires              time.Time
	)
	err := st.DB.QueryRow(ctx, st.q("get_passkey_challenge"), pgx.NamedArgs{"hash": hash}).Scan(&gotCeremony, &gotUser, &used, &expires)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return passkey.ErrNoChallenge
	case err != nil:
		return fmt.Errorf("postgres: use passkey challenge: %w", err)
	case gotCeremony != string(ceremony) || gotUser != userID:
		return passkey.ErrNoChallenge
	case used:
		return passkey.ErrChallengeUsed
	case !now.Before(expires):
		return passkey.ErrChallengeExpired
	}
	return fmt.Errorf("postgres: use passkey challenge: refused but not for a known reason")
}

// AddPasskey implements passkey.Store with one statement (add_passkey.sql).
func (st *Store) AddPasskey(ctx context.Context, c passkey.Credential, msgs ...outbox.Message) error {
	var n int
	err := st.DB.QueryRow(ctx, st.q("add_passkey"), messageArgs(pgx.NamedArgs{
		"id": c.ID, "user_id": c.UserID, "name": c.Name, "data": c.Data, "sign_count": int64(c.SignCount),
		"backup_state": c.BackupState, "created_at": c.CreatedAt,
	}, msgs...)).Scan(&n)
	if err != nil {
		return fmt.Errorf("postgres: add passkey: %w", err)
	}
	if n == 0 {
		return passkey.ErrCredentialExists
	}
	return nil
}

// scanPasskey reads the columns get_passkey.sql and list_passkeys.sql share.
func scanPasskey(row pgx.Row, c *passkey.Credential, lead ...any) error {
	var count int64
	var used *time.Time
	if err := row.Scan(append(lead, &c.Name, &c.Data, &count, &c.BackupState, &c.CreatedAt, &used)...); err != nil {
		return err
	}
	c.SignCount, c.CreatedAt = uint32(count), c.CreatedAt.UTC()
	if used != nil {
		c.LastUsedAt = used.UTC()
	}
	return nil
}

// GetPasskey implements passkey.Store.
func (st *Store) GetPasskey(ctx context.Context, id string) (passkey.Credential, error) {
	c := passkey.Credential{ID: id}
	err := scanPasskey(st.DB.QueryRow(ctx, st.q("get_passkey"), pgx.NamedArgs{"id": id}), &c, &c.UserID)
	if errors.Is(err, pgx.ErrNoRows) {
		return passkey.Credential{}, passkey.ErrNoCredential
	}
	if err != nil {
		return passkey.Credential{}, fmt.Errorf("postgres: get passkey: %w", err)
	}
	return c, nil
}

// ListPasskeys implements passkey.Store.
func (st *Store) ListPasskeys(ctx context.Context, userID string) ([]passkey.Credential, error) {
	rows, err := st.DB.Query(ctx, st.q("list_passkeys"), pgx.NamedArgs{"user_id": userID})
	if err != nil {
		return nil, fmt.Errorf("postgres: list passkeys: %w", err)
	}
	defer rows.Close()
	var out []passkey.Credential
	for rows.Next() {
		c := passkey.Credential{UserID: userID}
		if err := scanPasskey(rows, &c, &c.ID); err != nil {
			return nil, fmt.Errorf("postgres: list passkeys: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list passkeys: %w", err)
	}
	return out, nil
}

// UsePasskey implements passkey.Store with one conditional update
// (use_passkey.sql).
func (st *Store) UsePasskey(ctx context.Context, u passkey.Use) error {
	var ok bool
	err := st.DB.QueryRow(ctx, st.q("use_passkey"), pgx.NamedArgs{
		"id": u.ID, "user_id": u.UserID, "from": int64(u.From), "sign_count": int64(u.SignCount),
		"backup_state": u.BackupState, "now": u.Now,
	}).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		c, err := st.GetPasskey(ctx, u.ID)
		switch {
		case errors.Is(err, passkey.ErrNoCredential) || (err == nil && c.UserID != u.UserID):
			return passkey.ErrNoCredential
		case err != nil:
			return err
		}
		return passkey.ErrCounterMoved
	}
	if err != nil {
		return fmt.Errorf("postgres: use passkey: %w", err)
	}
	return nil
}

// RenamePasskey implements passkey.Store.
func (st *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	var ok bool
	err := st.DB.QueryRow(ctx, st.q("rename_passkey"), pgx.NamedArgs{"id": id, "user_id": userID, "name": name}).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return passkey.ErrNoCredential
	}
	if err != nil {
		return fmt.Errorf("postgres: rename passkey: %w", err)
	}
	return nil
}

// RemovePasskey implements passkey.Store with one statement
// (remove_passkey.sql).
func (st *Store) RemovePasskey(ctx context.Context, userID, id string, msgs ...outbox.Message) error {
	var n int
	err := st.DB.QueryRow(ctx, st.q("remove_passkey"), messageArgs(pgx.NamedArgs{"id": id, "user_id": userID}, msgs...)).Scan(&n)
	if err != nil {
		return fmt.Errorf("postgres: remove passkey: %w", err)
	}
	if n == 0 {
		return passkey.ErrNoCredential
	}
	return nil
}
