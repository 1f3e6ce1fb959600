package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotor-auth/rotor/pkg/mfa"
)

var _ mfa.Store = (*Store)(nil)

// Second factors live in the mfa_factors and mfa_tokens tables (migration
// 008). Each operation is one statement, so one transaction, messages
// included.

// GetFactor implements mfa.Store.
func (st *Store) GetFactor(ctx context.Context, userID string) (mfa.Factor, error) {
	f := mfa.Factor{UserID: userID}
	var confirmedAt *time.Time
	err := st.DB.QueryRow(ctx, st.q("get_factor"), pgx.NamedArgs{"user_id": userID}).
		Scan(&f.Sealed, &f.Confirmed, &f.CreatedAt, &confirmedAt, &f.LastStep, &f.Codes)
	if errors.Is(err, pgx.ErrNoRows) {
		return mfa.Factor{}, mfa.ErrNoFactor
	}
	if err != nil {
		return mfa.Factor{}, fmt.Errorf("postgres: get factor: %w", err)
	}
	f.CreatedAt = f.CreatedAt.UTC()
	if confirmedAt != nil {
		f.ConfirmedAt = confirmedAt.UTC()
	}
	return f, nil
}

// PutFactor implements mfa.Store with one statement (put_factor.sql).
func (st *Store) PutFactor(ctx context.Context, f mfa.Factor) error {
	var ok bool
	err := st.DB.QueryRow(ctx, st.q("put_factor"), pgx.NamedArgs{"user_id": f.UserID, "sealed": f.Sealed, "created_at": f.CreatedAt}).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return mfa.ErrEnrolled
	}
	if err != nil {
		return fmt.Errorf("postgres: put factor: %w", err)
	}
	return nil
}

// factorVerdicts are use_factor.sql's refusals.
var factorVerdicts = map[string]error{
	"no_factor":         mfa.ErrNoFactor,
	"replayed":          mfa.ErrReplayed,
	"code_used":         mfa.ErrCodeUsed,
	"no_challenge":      mfa.ErrNoChallenge,
	"challenge_used":    mfa.ErrChallengeUsed,
	"challenge_expired": mfa.ErrChallengeExpired,
	"enrolled":          mfa.ErrEnrolled,
}

// UseFactor implements mfa.Store with one statement (use_factor.sql).
func (st *Store) UseFactor(ctx context.Context, u mfa.Use) error {
	codes := u.Codes
	if codes == nil {
		codes = []string{}
	}
	args := messageArgs(pgx.NamedArgs{
		"user_id": u.UserID, "created_at": u.CreatedAt, "now": u.Now, "step": u.Step, "code": u.Code,
		"challenge": u.Challenge, "confirm": u.Confirm, "set_codes": u.Codes != nil, "codes": codes,
		"sealed": u.Sealed, "remove": u.Remove,
	}, u.Messages...)
	var verdict string
	if err := st.DB.QueryRow(ctx, st.q("use_factor"), args).Scan(&verdict); err != nil {
		return fmt.Errorf("postgres: use factor: %w", err)
	}
	if err, ok := factorVerdicts[verdict]; ok {
		return err
	}
	if verdict != "ok" {
		return fmt.Errorf("postgres: use factor: unexpected verdict %q", verdict)
	}
	return nil
}

// PutChallenge implements mfa.Store with one statement (put_challenge.sql),
// which also purges a few records a day past their expiry (Store.Purge).
func (st *Store) PutChallenge(ctx context.Context, c mfa.Challenge) error {
	var ok bool
	err := st.DB.QueryRow(ctx, st.q("put_challenge"), pgx.NamedArgs{
		"id": c.ID, "user_id": c.UserID, "username": c.Username, "epoch": c.Epoch, "device": c.Device,
		"created_at": c.CreatedAt, "expires_at": c.ExpiresAt, "purge": st.purge(),
	}).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return mfa.ErrChallengeUsed
	}
	if err != nil {
		return fmt.Errorf("postgres: put mfa_token record: %w", err)
	}
	return nil
}

// GetChallenge implements mfa.Store.
func (st *Store) GetChallenge(ctx context.Context, id string) (mfa.Challenge, error) {
	c := mfa.Challenge{ID: id}
	var used *time.Time
	err := st.DB.QueryRow(ctx, st.q("get_challenge"), pgx.NamedArgs{"id": id}).
		Scan(&c.UserID, &c.Username, &c.Epoch, &c.Device, &c.CreatedAt, &c.ExpiresAt, &used)
	if errors.Is(err, pgx.ErrNoRows) {
		return mfa.Challenge{}, mfa.ErrNoChallenge
	}
	if err != nil {
		return mfa.Challenge{}, fmt.Errorf("postgres: get mfa_token record: %w", err)
	}
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	if used != nil {
		c.UsedAt = used.UTC()
	}
	return c, nil
}
