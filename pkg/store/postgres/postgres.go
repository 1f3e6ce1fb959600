package postgres

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

var (
	_ users.Store    = (*Store)(nil)
	_ sessions.Store = (*Store)(nil)
	_ throttle.Store = (*Store)(nil)
	_ users.Locker   = (*Store)(nil)
)

//go:embed sql/*.sql
var queries embed.FS

// DB is the part of a pgx connection pool (*pgxpool.Pool) the store uses.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// DefaultPurge is how many dead rows one login (sessions) or one failed login
// (attempts) deletes when Store.Purge is zero.
const DefaultPurge = 20

// Store implements the users, sessions and throttle stores on PostgreSQL.
// Build it with New.
type Store struct {
	DB DB
	// Purge bounds the dead rows deleted by one write (see create_session.sql);
	// DefaultPurge when 0, none when negative.
	Purge int
	sql   map[string]string
	pos   positionalCache
}

// New returns a Store on db, whose search_path must reach the tables that
// package schema creates.
func New(db DB) *Store {
	st := &Store{DB: db, sql: map[string]string{}}
	entries, _ := queries.ReadDir("sql")
	for _, e := range entries {
		b, _ := queries.ReadFile("sql/" + e.Name())
		st.sql[strings.TrimSuffix(e.Name(), ".sql")] = string(b)
	}
	return st
}

// q returns the text of sql/<name>.sql.
func (st *Store) q(name string) string {
	s, ok := st.sql[name]
	if !ok {
		panic("postgres: no query " + name) // a typo in this file: the tests catch it
	}
	return s
}

func (st *Store) purge() int {
	switch {
	case st.Purge == 0:
		return DefaultPurge
	case st.Purge < 0:
		return 0
	}
	return st.Purge
}

// ---- users ----

// CreateUser implements users.Store.
func (st *Store) CreateUser(ctx context.Context, u users.User) error {
	args := pgx.NamedArgs{
		"username": u.Username, "user_id": u.ID, "password_hash": u.PasswordHash,
		"created_at": u.CreatedAt, "updated_at": u.UpdatedAt, "skeleton": users.SkeletonOf(u),
	}
	// The username's (or skeleton's) holder is read from the statement's snapshot: a create
	// racing ours may have committed after it, and then neither branch
	// answers. Asking once more sees it.
	for attempt := 0; attempt < 2; attempt++ {
		var holder string
		err := st.DB.QueryRow(ctx, st.q("create_user"), args).Scan(&holder)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			continue
		case err != nil:
			return fmt.Errorf("postgres: create user: %w", err)
		case holder != u.ID:
			return users.ErrTaken
		}
		return nil // inserted now, or by an earlier try of this same request
	}
	return fmt.Errorf("postgres: create user: username %q neither inserted nor found", u.Username)
}

// GetUser implements users.Store.
func (st *Store) GetUser(ctx context.Context, username string) (users.User, error) {
	var r userRow
	err := st.DB.QueryRow(ctx, st.q("get_user"), pgx.NamedArgs{"username": username}).Scan(r.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return users.User{}, users.ErrNotFound
	}
	if err != nil {
		return users.User{}, fmt.Errorf("postgres: get user: %w", err)
	}
	return r.user(), nil
}

// userRow is what get_user.sql and get_login.sql select of a user; the
// pointers are NULL when get_login.sql found no user.
type userRow struct {
	id, username, hash *string
	created, updated   *time.Time
	epoch              *int64
	sessionIDs         []string
	sessionCreated     []time.Time
	locked             bool
	passwordChanged    *time.Time // NULL until the first change
	email, pending     *string    // NULL when none
	emailVerified      bool
	emailVerifiedAt    *time.Time
}

func (r *userRow) dest() []any {
	return []any{&r.id, &r.username, &r.hash, &r.created, &r.updated, &r.epoch, &r.sessionIDs, &r.sessionCreated, &r.locked, &r.passwordChanged,
		&r.email, &r.emailVerified, &r.emailVerifiedAt, &r.pending}
}

func (r *userRow) user() users.User {
	u := users.User{
		ID: *r.id, Username: *r.username, PasswordHash: *r.hash,
		CreatedAt: r.created.UTC(), UpdatedAt: r.updated.UTC(), Epoch: *r.epoch,
		Sessions: make(map[string]time.Time, len(r.sessionIDs)),
		Locked:   r.locked,
	}
	if r.passwordChanged != nil {
		u.PasswordChangedAt = r.passwordChanged.UTC()
	}
	r.emailOf(&u)
	for i, id := range r.sessionIDs {
		u.Sessions[id] = r.sessionCreated[i].UTC()
	}
	return u
}

// SetPasswordHash implements users.Store.
func (st *Store) SetPasswordHash(ctx context.Context, username, userID string, epoch int64, hash string, now time.Time) error {
	var set, found bool
	err := st.DB.QueryRow(ctx, st.q("set_password_hash"), pgx.NamedArgs{
		"username": username, "user_id": userID, "epoch": epoch, "password_hash": hash, "updated_at": now,
	}).Scan(&set, &found)
	switch {
	case err != nil:
		return fmt.Errorf("postgres: set password: %w", err)
	case set:
		return nil
	case found:
		return users.ErrStale
	}
	return users.ErrNotFound
}

// ---- sessions ----

// sessionArgs are a session's columns as named arguments.
func sessionArgs(s sessions.Session) pgx.NamedArgs {
	a := pgx.NamedArgs{
		"session_id": s.ID, "user_id": s.UserID, "username": s.Username, "epoch": s.Epoch,
		"token_hash": s.TokenHash, "prev_hash": nilIfEmpty(s.PrevHash), "salt": nilIfEmpty(s.Salt),
		"rotated_at": nil, "rotations": s.Rotations,
		"created_at": s.CreatedAt, "last_used_at": s.LastUsedAt,
		"expires_at": s.ExpiresAt, "absolute_expires_at": s.AbsoluteExpiresAt,
		"ip": s.IP, "user_agent": s.UserAgent,
		"amr": nil, "auth_time": nil, "jkt": nil,
	}
	if !s.RotatedAt.IsZero() {
		a["rotated_at"] = s.RotatedAt
	}
	if len(s.AMR) > 0 {
		a["amr"] = s.AMR
	}
	if !s.AuthTime.IsZero() {
		a["auth_time"] = s.AuthTime
	}
	if s.JKT != "" {
		a["jkt"] = s.JKT
	}
	return a
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// sessionRow scans the session columns every session query selects, in order.
type sessionRow struct {
	s         sessions.Session
	rotatedAt *time.Time
	authTime  *time.Time
	jkt       *string
}

func (r *sessionRow) dest() []any {
	s := &r.s
	return []any{&s.ID, &s.UserID, &s.Username, &s.Epoch, &s.TokenHash, &s.PrevHash, &s.Salt, &r.rotatedAt, &s.Rotations,
		&s.CreatedAt, &s.LastUsedAt, &s.ExpiresAt, &s.AbsoluteExpiresAt, &s.IP, &s.UserAgent, &s.AMR, &r.authTime, &r.jkt}
}

func (r *sessionRow) session() sessions.Session {
	s := r.s
	if r.rotatedAt != nil {
		s.RotatedAt = r.rotatedAt.UTC()
	}
	if r.authTime != nil {
		s.AuthTime = r.authTime.UTC()
	}
	if r.jkt != nil {
		s.JKT = *r.jkt
	}
	s.CreatedAt, s.LastUsedAt = s.CreatedAt.UTC(), s.LastUsedAt.UTC()
	s.ExpiresAt, s.AbsoluteExpiresAt = s.ExpiresAt.UTC(), s.AbsoluteExpiresAt.UTC()
	return s
}

// CreateSession implements sessions.Store with one statement
// (create_session.sql): owner check, insert, evictions and a bounded purge.
func (st *Store) CreateSession(ctx context.Context, s sessions.Session, evict []string) error {
	args := sessionArgs(s)
	args["evict"] = append([]string{}, evict...)
	args["now"] = s.CreatedAt
	args["purge"] = st.purge()
	// A create racing ours with the same id (only a retried request can
	// share one) may commit after our snapshot: nothing inserted, nothing
	// seen. Asking once more sees it.
	for attempt := 0; attempt < 2; attempt++ {
		var inserted, ownerOK bool
		var existing []byte
		if err := st.DB.QueryRow(ctx, st.q("create_session"), args).Scan(&inserted, &ownerOK, &existing); err != nil {
			return fmt.Errorf("postgres: create session: %w", err)
		}
		switch {
		case inserted:
			return nil
		case existing != nil && bytes.Equal(existing, s.TokenHash):
			return nil // our own earlier write: a retried request
		case existing != nil:
			return sessions.ErrConflict
		case !ownerOK:
			return sessions.ErrStale
		}
	}
	return fmt.Errorf("postgres: create session %s: %w", s.ID, sessions.ErrConflict)
}

// RotateSession implements sessions.Store with one statement
// (rotate_session.sql) that returns the updated row, or the row as it is when
// the condition failed.
func (st *Store) RotateSession(ctx context.Context, r sessions.Rotation) (sessions.Session, error) {
	var rotated bool
	var row sessionRow
	var before *time.Time
	var superseded bool
	var jkt *string // NULL: a bearer session
	if r.JKT != "" {
		jkt = &r.JKT
	}
	sql, args := st.named("rotate_session", pgx.NamedArgs{
		"session_id": r.SessionID, "presented_hash": r.PresentedHash, "new_hash": r.NewHash,
		"salt": r.Salt, "now": r.Now, "expires_at": r.ExpiresAt, "jkt": jkt,
	})
	err := st.DB.QueryRow(ctx, sql, args...).Scan(append(append([]any{&rotated}, row.dest()...), &before, &superseded)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sessions.Session{}, sessions.ErrNotFound
	}
	if err != nil {
		return sessions.Session{}, fmt.Errorf("postgres: rotate session: %w", err)
	}
	s := row.session()
	if before != nil && s.CreatedAt.Before(*before) {
		return s, sessions.ErrRevoked
	}
	if superseded {
		return s, sessions.ErrSuperseded
	}
	if !rotated {
		return s, sessions.ErrConflict
	}
	return s, nil
}

// RevokeBefore implements sessions.Store with one upsert of the watermark row.
func (st *Store) RevokeBefore(ctx context.Context, t time.Time) (time.Time, error) {
	var w time.Time
	if err := st.DB.QueryRow(ctx, st.q("revoke_before"), pgx.NamedArgs{"revoked_before": t}).Scan(&w); err != nil {
		return time.Time{}, fmt.Errorf("postgres: revoke before: %w", err)
	}
	return w.UTC(), nil
}

// GetSessionAndWatermark implements sessions.Store in one query.
func (st *Store) GetSessionAndWatermark(ctx context.Context, id string) (sessions.Session, time.Time, error) {
	var row sessionRow
	var before *time.Time
	sql, args := st.named("get_session_and_watermark", pgx.NamedArgs{"session_id": id})
	err := st.DB.QueryRow(ctx, sql, args...).Scan(append(row.dest(), &before)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sessions.Session{}, time.Time{}, sessions.ErrNotFound
	}
	if err != nil {
		return sessions.Session{}, time.Time{}, fmt.Errorf("postgres: get session: %w", err)
	}
	var w time.Time
	if before != nil {
		w = before.UTC()
	}
	return row.session(), w, nil
}

// SetLocked implements users.Locker.
func (st *Store) SetLocked(ctx context.Context, username, userID string, locked bool, now time.Time) error {
	tag, err := st.DB.Exec(ctx, st.q("set_locked"), pgx.NamedArgs{
		"username": username, "user_id": userID, "locked": locked, "updated_at": now,
	})
	if err != nil {
		return fmt.Errorf("postgres: set locked: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return users.ErrNotFound
	}
	return nil
}

// GetSession implements sessions.Store.
func (st *Store) GetSession(ctx context.Context, id string) (sessions.Session, error) {
	var row sessionRow
	err := st.DB.QueryRow(ctx, st.q("get_session"), pgx.NamedArgs{"session_id": id}).Scan(row.dest()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sessions.Session{}, sessions.ErrNotFound
	}
	if err != nil {
		return sessions.Session{}, fmt.Errorf("postgres: get session: %w", err)
	}
	return row.session(), nil
}

// DeleteSession implements sessions.Store.
func (st *Store) DeleteSession(ctx context.Context, id, userID string) error {
	return st.deleted(st.DB.Exec(ctx, st.q("delete_session"), pgx.NamedArgs{"session_id": id, "user_id": userID}))
}

// DeleteSessionByToken implements sessions.Store.
func (st *Store) DeleteSessionByToken(ctx context.Context, id string, hash []byte) error {
	return st.deleted(st.DB.Exec(ctx, st.q("delete_session_by_token"), pgx.NamedArgs{"session_id": id, "hash": hash}))
}

func (st *Store) deleted(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return fmt.Errorf("postgres: delete session: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return sessions.ErrNotFound
	}
	return nil
}

// ListSessions implements sessions.Store.
func (st *Store) ListSessions(ctx context.Context, username, userID string) ([]sessions.Session, error) {
	rows, err := st.DB.Query(ctx, st.q("list_sessions"), pgx.NamedArgs{"username": username, "user_id": userID})
	if err != nil {
		return nil, fmt.Errorf("postgres: list sessions: %w", err)
	}
	defer rows.Close()
	var out []sessions.Session
	for rows.Next() {
		var row sessionRow
		if err := rows.Scan(row.dest()...); err != nil {
			return nil, fmt.Errorf("postgres: list sessions: %w", err)
		}
		out = append(out, row.session())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list sessions: %w", err)
	}
	return out, nil
}

// EndUserSessions implements sessions.Store: the epoch moves, then every
// session of the user is deleted, by two statements sent in one batch (one
// round trip, one implicit transaction). One statement could not do it: its
// single snapshot, taken before it waited for the user row, would miss a
// session that a login committed meanwhile.
func (st *Store) EndUserSessions(ctx context.Context, username, userID string) (n int, err error) {
	args := pgx.NamedArgs{"username": username, "user_id": userID}
	b := &pgx.Batch{}
	b.Queue(st.q("end_user_sessions_epoch"), args)
	b.Queue(st.q("end_user_sessions_delete"), args)
	res := st.DB.SendBatch(ctx, b)
	defer func() {
		if cerr := res.Close(); cerr != nil && err == nil {
			n, err = 0, fmt.Errorf("postgres: end sessions of %s: %w", userID, cerr)
		}
	}()
	moved, err := res.Exec()
	if err != nil {
		return 0, fmt.Errorf("postgres: end sessions of %s: %w", userID, err)
	}
	deleted, err := res.Exec()
	if err != nil {
		return 0, fmt.Errorf("postgres: end sessions of %s: %w", userID, err)
	}
	if moved.RowsAffected() == 0 {
		return 0, sessions.ErrNotFound
	}
	return int(deleted.RowsAffected()), nil
}

// ---- login attempts ----

// GetAttempts implements throttle.Store.
func (st *Store) GetAttempts(ctx context.Context, key string) (throttle.State, error) {
	var s throttle.State
	err := st.DB.QueryRow(ctx, st.q("get_attempts"), pgx.NamedArgs{"attempt_key": key}).Scan(&s.Failures, &s.LastFailure)
	if errors.Is(err, pgx.ErrNoRows) {
		return throttle.State{}, nil
	}
	if err != nil {
		return throttle.State{}, fmt.Errorf("postgres: get attempts: %w", err)
	}
	s.LastFailure = s.LastFailure.UTC()
	return s, nil
}

// RecordFailure implements throttle.Store with one atomic upsert.
func (st *Store) RecordFailure(ctx context.Context, key string, now, expires time.Time) (throttle.State, error) {
	var s throttle.State
	err := st.DB.QueryRow(ctx, st.q("record_failure"), pgx.NamedArgs{
		"attempt_key": key, "now": now, "expires_at": expires, "purge": st.purge(),
	}).Scan(&s.Failures, &s.LastFailure)
	if err != nil {
		return throttle.State{}, fmt.Errorf("postgres: record failure: %w", err)
	}
	s.LastFailure = s.LastFailure.UTC()
	return s, nil
}

// ResetAttempts implements throttle.Store.
func (st *Store) ResetAttempts(ctx context.Context, key string) error {
	if _, err := st.DB.Exec(ctx, st.q("reset_attempts"), pgx.NamedArgs{"attempt_key": key}); err != nil {
		return fmt.Errorf("postgres: reset attempts: %w", err)
	}
	return nil
}

// ---- login ----

// GetLogin implements auth.LoginStore in one statement (get_login.sql): the
// user with its session list and the attempts under each of keys, one
// snapshot, so a login's happy path is two round trips: this read and the
// session insert.
func (st *Store) GetLogin(ctx context.Context, username string, keys []string) (users.User, []throttle.State, error) {
	var r userRow
	var failures []int32
	var last []*time.Time
	err := st.DB.QueryRow(ctx, st.q("get_login"), pgx.NamedArgs{"username": username, "keys": append([]string{}, keys...)}).
		Scan(append(r.dest(), &failures, &last)...)
	if err != nil {
		return users.User{}, nil, fmt.Errorf("postgres: get login: %w", err)
	}
	if len(failures) != len(keys) || len(last) != len(keys) {
		return users.User{}, nil, fmt.Errorf("postgres: get login: %d states for %d keys", len(failures), len(keys))
	}
	states := make([]throttle.State, len(keys))
	for i := range keys {
		states[i].Failures = int(failures[i])
		if last[i] != nil {
			states[i].LastFailure = last[i].UTC()
		}
	}
	if r.id == nil {
		return users.User{}, states, users.ErrNotFound
	}
	return r.user(), states, nil
}
