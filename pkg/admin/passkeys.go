package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/passkey"
)

// ErrNoPasskeys means the user has no passkey to remove.
var ErrNoPasskeys = fmt.Errorf("%w: the user has no passkey", ErrNotFound)

// PasskeysRemoved is the outcome of an operator's removal of a user's
// passkeys.
type PasskeysRemoved struct {
	UserID   string `json:"user_id"`
	Removed  int    `json:"removed"`
	Notified bool   `json:"notified"` // a notice went to the user's verified address
	Revoked  int    `json:"revoked"`  // sessions ended
}

// RemovePasskeys removes every passkey of the named user (a lost or stolen
// device, after the operator has verified who asked): a password reset
// leaves passkeys in place, this is the door that does not. Audited; the
// user is told (one notice, written with the first removal); every session
// of the user ends, since whoever held the device may have started some.
func (a *Admin) RemovePasskeys(ctx context.Context, name string) (PasskeysRemoved, error) {
	st, ok := a.Store.(passkey.Store)
	if !ok {
		return PasskeysRemoved{}, fmt.Errorf("admin: the %T store keeps no passkeys", a.Store)
	}
	u, err := a.user(ctx, name)
	if err != nil {
		return PasskeysRemoved{}, err
	}
	list, err := st.ListPasskeys(ctx, u.ID)
	if err != nil {
		return PasskeysRemoved{}, fmt.Errorf("admin: list passkeys: %w", err)
	}
	if len(list) == 0 {
		return PasskeysRemoved{}, fmt.Errorf("%w: user %q", ErrNoPasskeys, name)
	}
	now := a.now()
	r := PasskeysRemoved{UserID: u.ID}
	var msgs []outbox.Message
	if u.Email != "" && u.EmailVerified {
		m, err := a.notice(u.Email, u.ID, u.Username, now)
		if err != nil {
			return PasskeysRemoved{}, err
		}
		m.Data["factor"] = "your passkeys, removed by an operator at your request"
		msgs, r.Notified = append(msgs, m), true
	}
	for _, c := range list {
		switch err := st.RemovePasskey(ctx, u.ID, c.ID, msgs...); {
		case errors.Is(err, passkey.ErrNoCredential):
			// Removed meanwhile (by the user): gone all the same.
		case err != nil:
			return r, fmt.Errorf("admin: remove passkey: %w", err)
		default:
			r.Removed++
			msgs = nil
		}
	}
	a.log().WarnContext(ctx, "passkeys removed by an operator", "event", "passkeys_removed_by_operator", "user_id", u.ID, "who", a.Caller, "removed", r.Removed, "notified", r.Notified)
	r.Revoked, err = a.endAll(ctx, u, "passkeys_remove", "admin_passkeys_remove", nil)
	return r, err
}

// PasskeyInfo is one passkey as the operator's listing shows it.
type PasskeyInfo struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	CreatedAt      time.Time `json:"created_at"`
	LastUsedAt     time.Time `json:"last_used_at"` // zero when never used
	AAGUID         string    `json:"aaguid,omitempty"`
	BackupEligible bool      `json:"backup_eligible"`
	BackupState    bool      `json:"backup_state"`
}

// Passkeys lists the named user's passkeys, oldest first (what the
// operator needs to pick the one to remove). Audited: the listing names
// the user's devices.
func (a *Admin) Passkeys(ctx context.Context, name string) ([]PasskeyInfo, error) {
	st, ok := a.Store.(passkey.Store)
	if !ok {
		return nil, fmt.Errorf("admin: the %T store keeps no passkeys", a.Store)
	}
	u, err := a.user(ctx, name)
	if err != nil {
		return nil, err
	}
	list, err := st.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("admin: list passkeys: %w", err)
	}
	out := make([]PasskeyInfo, 0, len(list))
	for _, c := range list {
		p := PasskeyInfo{ID: c.ID, Name: c.Name, CreatedAt: c.CreatedAt.UTC(), LastUsedAt: c.LastUsedAt.UTC(), BackupState: c.BackupState}
		if r, err := passkey.DecodeRecord(c.Data); err == nil {
			p.AAGUID, p.BackupEligible = r.AAGUID, r.BackupEligible
		}
		out = append(out, p)
	}
	a.audit(ctx, "passkeys_list", "user_id", u.ID, "passkeys", len(out))
	return out, nil
}

// RemovePasskey removes one passkey (id, from Passkeys) of the named user:
// a lost or stolen device among several. As RemovePasskeys: audited, the
// user told in the same write as the removal, and every session of the
// user ended (whoever held the device may have started some). An id that
// is not one of the user's passkeys is not found, and nothing changes.
func (a *Admin) RemovePasskey(ctx context.Context, name, id string) (PasskeysRemoved, error) {
	st, ok := a.Store.(passkey.Store)
	if !ok {
		return PasskeysRemoved{}, fmt.Errorf("admin: the %T store keeps no passkeys", a.Store)
	}
	u, err := a.user(ctx, name)
	if err != nil {
		return PasskeysRemoved{}, err
	}
	c, err := st.GetPasskey(ctx, id)
	switch {
	case errors.Is(err, passkey.ErrNoCredential) || (err == nil && c.UserID != u.ID):
		return PasskeysRemoved{}, fmt.Errorf("%w: user %q has no passkey %q", ErrNoPasskeys, name, id)
	case err != nil:
		return PasskeysRemoved{}, fmt.Errorf("admin: read passkey: %w", err)
	}
	now := a.now()
	r := PasskeysRemoved{UserID: u.ID}
	var msgs []outbox.Message
	if u.Email != "" && u.EmailVerified {
		m, err := a.notice(u.Email, u.ID, u.Username, now)
		if err != nil {
			return PasskeysRemoved{}, err
		}
		m.Data["factor"] = fmt.Sprintf("a passkey (%s), removed by an operator at your request", c.Name)
		msgs, r.Notified = append(msgs, m), true
	}
	switch err := st.RemovePasskey(ctx, u.ID, c.ID, msgs...); {
	case errors.Is(err, passkey.ErrNoCredential):
		return PasskeysRemoved{}, fmt.Errorf("%w: user %q has no passkey %q", ErrNoPasskeys, name, id)
	case err != nil:
		return PasskeysRemoved{}, fmt.Errorf("admin: remove passkey: %w", err)
	}
	r.Removed = 1
	a.log().WarnContext(ctx, "passkey removed by an operator", "event", "passkeys_removed_by_operator", "user_id", u.ID, "who", a.Caller, "removed", 1, "credential", c.ID, "notified", r.Notified)
	r.Revoked, err = a.endAll(ctx, u, "passkey_remove", "admin_passkey_remove", nil)
	return r, err
}
