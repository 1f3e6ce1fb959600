package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/users"
)

// Account recovery lives in the users table's address columns (the claim of
// a verified address is the unique index users_verified_email) and the
// onetime_tokens table (migration 006). Each operation is one statement,
// so one transaction, messages included.

// emailOf adds the address columns of r to u.
func (r *userRow) emailOf(u *users.User) {
	if r.email != nil {
		u.Email = *r.email
	}
	if r.pending != nil {
		u.PendingEmail = *r.pending
	}
	u.EmailVerified = r.emailVerified
	if r.emailVerifiedAt != nil {
		u.EmailVerifiedAt = r.emailVerifiedAt.UTC()
	}
}

// messageArgs adds msgs (those with an id) to args as the arrays the
// statements unnest (@m_id, @m_kind...), following add_message.sql.
func messageArgs(args pgx.NamedArgs, msgs ...outbox.Message) pgx.NamedArgs {
	ids, kinds, tos, uids, tids, datas := []string{}, []string{}, []string{}, []string{}, []string{}, []string{}
	created, next := []time.Time{}, []time.Time{}
	for _, m := range msgs {
		if m.ID == "" {
			continue
		}
		data, _ := json.Marshal(m.Data) // a map of strings always encodes
		if m.Data == nil {
			data = []byte("{}")
		}
		at := m.NextAt
		if at.IsZero() {
			at = m.CreatedAt
		}
		ids, kinds, tos, uids, tids, datas = append(ids, m.ID), append(kinds, string(m.Kind)), append(tos, m.To),
			append(uids, m.UserID), append(tids, m.TokenID), append(datas, string(data))
		created, next = append(created, m.CreatedAt), append(next, at)
	}
	args["m_id"], args["m_kind"], args["m_to"], args["m_user_id"] = ids, kinds, tos, uids
	args["m_token_id"], args["m_data"], args["m_created_at"], args["m_next_at"] = tids, datas, created, next
	return args
}

// uniqueViolation reports whether err is a unique violation of constraint.
func uniqueViolation(err error, constraint string) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505" && pg.ConstraintName == constraint
}

// CreateAccount implements auth.AccountStore with one statement
// (create_account.sql).
func (st *Store) CreateAccount(ctx context.Context, u users.User, verify onetime.Record, sent, taken outbox.Message) error {
	if u.Email == "" {
		return st.CreateUser(ctx, u)
	}
	args := messageArgs(pgx.NamedArgs{
		"username": u.Username, "user_id": u.ID, "password_hash": u.PasswordHash,
		"created_at": u.CreatedAt, "updated_at": u.UpdatedAt, "email": u.Email, "skeleton": users.SkeletonOf(u),
		"token_id": verify.ID, "purpose": string(verify.Purpose), "token_created_at": verify.CreatedAt, "expires_at": verify.ExpiresAt,
	}, sent, taken)
	flags := []bool{}
	for _, m := range []outbox.Message{sent, taken} {
		if m.ID != "" {
			flags = append(flags, m.ID == taken.ID)
		}
	}
	args["m_taken"] = flags
	// As CreateUser: a create racing ours may commit after the statement's
	// snapshot, and then neither branch answers. Asking once more sees it.
	for attempt := 0; attempt < 2; attempt++ {
		var holder string
		var emailTaken bool
		err := st.DB.QueryRow(ctx, st.q("create_account"), args).Scan(&holder, &emailTaken)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			continue
		case err != nil:
			return fmt.Errorf("postgres: create account: %w", err)
		case holder != u.ID:
			return users.ErrTaken
		case emailTaken:
			return users.ErrEmailTaken
		}
		return nil // inserted now, or by an earlier try of this same request
	}
	return fmt.Errorf("postgres: create account: username %q neither inserted nor found", u.Username)
}

// IssueToken implements auth.AccountStore with one statement
// (issue_token.sql), which also purges a few records a day past their
// expiry (Store.Purge).
func (st *Store) IssueToken(ctx context.Context, rec onetime.Record, msgs ...outbox.Message) error {
	args := messageArgs(pgx.NamedArgs{
		"id": rec.ID, "purpose": string(rec.Purpose), "user_id": rec.UserID, "username": rec.Username,
		"epoch": rec.Epoch, "email": rec.Email, "created_at": rec.CreatedAt, "expires_at": rec.ExpiresAt,
		"purge": st.purge(),
	}, msgs...)
	var inserted, existed bool
	var holder *string
	var epoch *int64
	err := st.DB.QueryRow(ctx, st.q("issue_token"), args).Scan(&inserted, &existed, &holder, &epoch)
	switch {
	case uniqueViolation(err, "onetime_tokens_pkey"):
		return nil // a retry of this request racing itself: the record is stored
	case err != nil:
		return fmt.Errorf("postgres: issue token: %w", err)
	case inserted || existed:
		return nil
	case holder == nil || *holder != rec.UserID:
		return users.ErrNotFound
	}
	return onetime.ErrStale
}

// GetToken implements auth.AccountStore.
func (st *Store) GetToken(ctx context.Context, id string) (onetime.Record, error) {
	var r onetime.Record
	var purpose string
	var used *time.Time
	err := st.DB.QueryRow(ctx, st.q("get_token"), pgx.NamedArgs{"id": id}).
		Scan(&r.ID, &purpose, &r.UserID, &r.Username, &r.Epoch, &r.Email, &r.CreatedAt, &r.ExpiresAt, &used)
	if errors.Is(err, pgx.ErrNoRows) {
		return onetime.Record{}, onetime.ErrNotFound
	}
	if err != nil {
		return onetime.Record{}, fmt.Errorf("postgres: get token: %w", err)
	}
	r.Purpose = onetime.Purpose(purpose)
	r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	if used != nil {
		r.UsedAt = used.UTC()
	}
	return r, nil
}

// useVerdicts are use_token.sql's refusals.
var useVerdicts = map[string]error{
	"not_found":   onetime.ErrNotFound,
	"used":        onetime.ErrUsed,
	"expired":     onetime.ErrExpired,
	"stale":       onetime.ErrStale,
	"email_taken": users.ErrEmailTaken,
}

// UseToken implements auth.AccountStore with one statement (use_token.sql),
// which returns the user as written.
func (st *Store) UseToken(ctx context.Context, use onetime.Use) (users.User, error) {
	rec := use.Record
	args := messageArgs(pgx.NamedArgs{
		"id": rec.ID, "purpose": string(rec.Purpose), "user_id": rec.UserID, "username": rec.Username,
		"epoch": rec.Epoch, "email": rec.Email, "now": use.Now, "password_hash": use.PasswordHash,
	}, use.Messages...)
	var verdict string
	var r userRow
	err := st.DB.QueryRow(ctx, st.q("use_token"), args).Scan(append([]any{&verdict}, r.dest()...)...)
	switch {
	case uniqueViolation(err, "users_verified_email"):
		return users.User{}, users.ErrEmailTaken // verified by another account meanwhile
	case err != nil:
		return users.User{}, fmt.Errorf("postgres: use token: %w", err)
	}
	if err, ok := useVerdicts[verdict]; ok {
		return users.User{}, err
	}
	if verdict != "ok" || r.id == nil {
		return users.User{}, fmt.Errorf("postgres: use token: unexpected verdict %q", verdict)
	}
	return r.user(), nil
}

// UserByEmail implements auth.AccountStore.
func (st *Store) UserByEmail(ctx context.Context, email string) (users.User, error) {
	var r userRow
	err := st.DB.QueryRow(ctx, st.q("user_by_email"), pgx.NamedArgs{"email": email}).Scan(r.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return users.User{}, users.ErrNotFound
	}
	if err != nil {
		return users.User{}, fmt.Errorf("postgres: user by email: %w", err)
	}
	return r.user(), nil
}

// AddMessages implements auth.AccountStore with one statement (add_messages.sql).
func (st *Store) AddMessages(ctx context.Context, msgs ...outbox.Message) error {
	args := messageArgs(pgx.NamedArgs{}, msgs...)
	if len(args["m_id"].([]string)) == 0 {
		return nil
	}
	if _, err := st.DB.Exec(ctx, st.q("add_messages"), args); err != nil {
		return fmt.Errorf("postgres: add messages: %w", err)
	}
	return nil
}

// ChangePassword implements auth.AccountStore with one statement
// (change_password.sql): SetPasswordHash's update and msgs, inserted only
// when the update lands.
func (st *Store) ChangePassword(ctx context.Context, username, userID string, epoch int64, hash string, now time.Time, msgs ...outbox.Message) error {
	var set, found bool
	args := messageArgs(pgx.NamedArgs{
		"username": username, "user_id": userID, "epoch": epoch, "password_hash": hash, "updated_at": now,
	}, msgs...)
	switch err := st.DB.QueryRow(ctx, st.q("change_password"), args).Scan(&set, &found); {
	case err != nil:
		return fmt.Errorf("postgres: change password: %w", err)
	case set:
		return nil
	case found:
		return users.ErrStale
	}
	return users.ErrNotFound
}
