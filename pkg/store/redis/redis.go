package redis

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

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

//go:embed lua/*.lua
var scripts embed.FS

// Client is the part of a go-redis client (*redis.Client, or
// *redis.ClusterClient for a clustered server such as ElastiCache
// Serverless) that the store uses.
type Client interface {
	goredis.Scripter
	HMGet(ctx context.Context, key string, fields ...string) *goredis.SliceCmd
	HGetAll(ctx context.Context, key string) *goredis.MapStringStringCmd
	Del(ctx context.Context, keys ...string) *goredis.IntCmd
}

// DefaultNamespace is the hash tag of every key when Store.Namespace is empty.
const DefaultNamespace = "rotor"

// Store implements the users, sessions and throttle stores on Redis. Build it
// with New.
type Store struct {
	DB Client
	// Namespace is the hash tag of every key: {Namespace}:u:<username> (user
	// hash), {Namespace}:l:<username> (the user's session list, a sorted
	// set), {Namespace}:s:<session id> (session hash), {Namespace}:a:<attempt key>
	// (failed logins), {Namespace}:sk:<skeleton> (a hash whose id is the user
	// whose username has that UTS #39 skeleton), {Namespace}:e:<address> (the
	// claim of a verified address) and {Namespace}:t:<record id> (a one-time
	// token record; see accounts.go). Two deployments can share a server
	// under two names.
	Namespace string
	scripts   map[string]*goredis.Script
}

// New returns a Store on db under namespace (DefaultNamespace when empty).
func New(db Client, namespace string) *Store {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	st := &Store{DB: db, Namespace: namespace, scripts: map[string]*goredis.Script{}}
	entries, _ := scripts.ReadDir("lua")
	for _, e := range entries {
		b, _ := scripts.ReadFile("lua/" + e.Name())
		st.scripts[strings.TrimSuffix(e.Name(), ".lua")] = goredis.NewScript(string(b))
	}
	return st
}

// Load sends every script to the server once (SCRIPT LOAD), so that even the
// first call of each is a single EVALSHA. Calling it is optional: a script
// the server lacks (a restart) is sent by the call that needs it.
func (st *Store) Load(ctx context.Context) error {
	for name, s := range st.scripts {
		if err := s.Load(ctx, st.DB).Err(); err != nil {
			return fmt.Errorf("redis: load %s: %w", name, err)
		}
	}
	return nil
}

// run runs lua/<name>.lua by SHA (EVAL when the server does not have it yet).
func (st *Store) run(ctx context.Context, name string, keys []string, args ...any) *goredis.Cmd {
	s, ok := st.scripts[name]
	if !ok {
		panic("redis: no script " + name) // a typo in this file: the tests catch it
	}
	return s.Run(ctx, st.DB, keys, args...)
}

func (st *Store) key(kind, id string) string { return "{" + st.Namespace + "}:" + kind + ":" + id }
func (st *Store) prefix(kind string) string  { return st.key(kind, "") }

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// ttl is the time from now to at in milliseconds, at least one second: the
// caller's clock decides, as it decides every expiry check.
func ttl(at, now time.Time) string {
	return strconv.FormatInt(max(at.Sub(now).Milliseconds(), 1000), 10)
}

// fields reads an HGETALL reply given as a flat list (from a script).
func fields(v any) map[string]string {
	list, _ := v.([]any)
	m := make(map[string]string, len(list)/2)
	for i := 0; i+1 < len(list); i += 2 {
		k, _ := list[i].(string)
		val, _ := list[i+1].(string)
		m[k] = val
	}
	return m
}

func num(m map[string]string, k string) int64 {
	n, _ := strconv.ParseInt(m[k], 10, 64)
	return n
}

func msTime(m map[string]string, k string) time.Time { return time.UnixMilli(num(m, k)).UTC() }

// ---- users ----

// CreateUser implements users.Store.
func (st *Store) CreateUser(ctx context.Context, u users.User) error {
	holder, err := st.run(ctx, "create_user", []string{st.key("u", u.Username), st.key("sk", users.SkeletonOf(u))},
		u.ID, u.PasswordHash, ms(u.CreatedAt), ms(u.UpdatedAt)).Text()
	if err != nil {
		return fmt.Errorf("redis: create user: %w", err)
	}
	if holder != u.ID {
		return users.ErrTaken
	}
	return nil
}

// GetUser implements users.Store.
func (st *Store) GetUser(ctx context.Context, username string) (users.User, error) {
	v, err := st.run(ctx, "get_user", []string{st.key("u", username), st.key("l", username)}).Slice()
	if err != nil {
		return users.User{}, fmt.Errorf("redis: get user: %w", err)
	}
	return userFrom(username, v)
}

// userFrom reads {user fields, list with scores}.
func userFrom(username string, v []any) (users.User, error) {
	if len(v) < 2 {
		return users.User{}, errors.New("redis: malformed user reply")
	}
	f := fields(v[0])
	if f["id"] == "" {
		return users.User{}, users.ErrNotFound
	}
	u := users.User{
		ID: f["id"], Username: username, PasswordHash: f["pw"],
		CreatedAt: msTime(f, "cat"), UpdatedAt: msTime(f, "uat"), Epoch: num(f, "epoch"),
		Sessions: map[string]time.Time{}, Locked: f["locked"] == "1",
	}
	if f["pwat"] != "" {
		u.PasswordChangedAt = msTime(f, "pwat")
	}
	emailFrom(f, &u)
	for id, created := range fields(v[1]) {
		n, _ := strconv.ParseInt(created, 10, 64)
		u.Sessions[id] = time.UnixMilli(n).UTC()
	}
	return u, nil
}

// SetPasswordHash implements users.Store.
func (st *Store) SetPasswordHash(ctx context.Context, username, userID string, epoch int64, hash string, now time.Time) error {
	n, err := st.run(ctx, "set_password_hash", []string{st.key("u", username)}, userID, hash, ms(now), epoch).Int()
	switch {
	case err != nil:
		return fmt.Errorf("redis: set password: %w", err)
	case n == 0:
		return users.ErrNotFound
	case n == 2:
		return users.ErrStale
	}
	return nil
}

// ---- sessions ----

// sessionFields are a session's hash fields, as field/value pairs.
func sessionFields(s sessions.Session) []any {
	f := []any{
		"id", s.ID, "uid", s.UserID, "name", s.Username, "epoch", strconv.FormatInt(s.Epoch, 10),
		"th", s.TokenHash, "rot", strconv.Itoa(s.Rotations),
		"cat", ms(s.CreatedAt), "lat", ms(s.LastUsedAt), "exp", ms(s.ExpiresAt), "abs", ms(s.AbsoluteExpiresAt),
		"ip", s.IP, "ua", s.UserAgent,
	}
	if len(s.PrevHash) > 0 {
		f = append(f, "ph", s.PrevHash, "salt", s.Salt, "rat", ms(s.RotatedAt))
	}
	// Absent on sessions stored before issue 21. RFC 8176 values are
	// tokens without spaces, so one space-joined field holds the list.
	if len(s.AMR) > 0 {
		f = append(f, "amr", strings.Join(s.AMR, " "))
	}
	if !s.AuthTime.IsZero() {
		f = append(f, "aut", ms(s.AuthTime))
	}
	// Absent on a bearer session.
	if s.JKT != "" {
		f = append(f, "jkt", s.JKT)
	}
	return f
}

func sessionFrom(f map[string]string) sessions.Session {
	s := sessions.Session{
		ID: f["id"], UserID: f["uid"], Username: f["name"], Epoch: num(f, "epoch"),
		TokenHash: []byte(f["th"]), Rotations: int(num(f, "rot")),
		CreatedAt: msTime(f, "cat"), LastUsedAt: msTime(f, "lat"),
		ExpiresAt: msTime(f, "exp"), AbsoluteExpiresAt: msTime(f, "abs"),
		IP: f["ip"], UserAgent: f["ua"],
	}
	if ph, ok := f["ph"]; ok {
		s.PrevHash, s.Salt, s.RotatedAt = []byte(ph), []byte(f["salt"]), msTime(f, "rat")
	}
	if amr := f["amr"]; amr != "" {
		s.AMR = strings.Fields(amr)
	}
	if _, ok := f["aut"]; ok {
		s.AuthTime = msTime(f, "aut")
	}
	s.JKT = f["jkt"]
	return s
}

// CreateSession implements sessions.Store with one script: owner check,
// evictions, the session (expiring when it dies) and its list entry.
func (st *Store) CreateSession(ctx context.Context, s sessions.Session, evict []string) error {
	death := s.ExpiresAt
	if s.AbsoluteExpiresAt.Before(death) {
		death = s.AbsoluteExpiresAt
	}
	f := sessionFields(s)
	args := append([]any{st.prefix("s"), s.ID, s.UserID, strconv.FormatInt(s.Epoch, 10), s.TokenHash,
		ms(s.CreatedAt), ttl(death, s.CreatedAt), len(f) / 2}, f...)
	for _, id := range evict {
		args = append(args, id)
	}
	res, err := st.run(ctx, "create_session",
		[]string{st.key("u", s.Username), st.key("l", s.Username), st.key("s", s.ID)}, args...).Text()
	if err != nil {
		return fmt.Errorf("redis: create session: %w", err)
	}
	switch res {
	case "ok":
		return nil
	case "conflict":
		return sessions.ErrConflict
	case "stale":
		return sessions.ErrStale
	}
	return fmt.Errorf("redis: create session: unexpected reply %q", res)
}

// RotateSession implements sessions.Store with one script (one EVALSHA): it
// returns the rotated session, or the session as it is when a condition failed.
func (st *Store) RotateSession(ctx context.Context, r sessions.Rotation) (sessions.Session, error) {
	v, err := st.run(ctx, "rotate_session", []string{st.key("s", r.SessionID), st.watermark()},
		r.PresentedHash, r.NewHash, r.Salt, ms(r.Now), ms(r.ExpiresAt), st.prefix("u"), r.JKT).Slice()
	if errors.Is(err, goredis.Nil) {
		return sessions.Session{}, sessions.ErrNotFound
	}
	if err != nil {
		return sessions.Session{}, fmt.Errorf("redis: rotate session: %w", err)
	}
	if len(v) != 2 {
		return sessions.Session{}, errors.New("redis: rotate session: malformed reply")
	}
	s := sessionFrom(fields(v[1]))
	switch rotated, _ := v[0].(int64); rotated {
	case 1:
		return s, nil
	case 2:
		return s, sessions.ErrRevoked
	case 3:
		return s, sessions.ErrSuperseded
	}
	return s, sessions.ErrConflict
}

// watermark is the key of the revocation watermark, in the namespace's slot.
func (st *Store) watermark() string { return "{" + st.Namespace + "}:revoked-before" }

// RevokeBefore implements sessions.Store with one script on one key.
func (st *Store) RevokeBefore(ctx context.Context, t time.Time) (time.Time, error) {
	v, err := st.run(ctx, "revoke_before", []string{st.watermark()}, ms(t)).Text()
	if err != nil {
		return time.Time{}, fmt.Errorf("redis: revoke before: %w", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("redis: revoke before: reply %q", v)
	}
	return time.UnixMilli(n).UTC(), nil
}

// GetSessionAndWatermark implements sessions.Store with one script.
func (st *Store) GetSessionAndWatermark(ctx context.Context, id string) (sessions.Session, time.Time, error) {
	v, err := st.run(ctx, "get_session_and_watermark", []string{st.key("s", id), st.watermark()}).Slice()
	if err != nil {
		return sessions.Session{}, time.Time{}, fmt.Errorf("redis: get session: %w", err)
	}
	if len(v) != 2 {
		return sessions.Session{}, time.Time{}, errors.New("redis: get session: malformed reply")
	}
	var w time.Time
	if s, ok := v[1].(string); ok {
		n, _ := strconv.ParseInt(s, 10, 64)
		w = time.UnixMilli(n).UTC()
	}
	f := fields(v[0])
	if len(f) == 0 {
		return sessions.Session{}, w, sessions.ErrNotFound
	}
	return sessionFrom(f), w, nil
}

// SetLocked implements users.Locker.
func (st *Store) SetLocked(ctx context.Context, username, userID string, locked bool, now time.Time) error {
	flag := "0"
	if locked {
		flag = "1"
	}
	n, err := st.run(ctx, "set_locked", []string{st.key("u", username)}, userID, flag, ms(now)).Int()
	if err != nil {
		return fmt.Errorf("redis: set locked: %w", err)
	}
	if n == 0 {
		return users.ErrNotFound
	}
	return nil
}

// GetSession implements sessions.Store with one HGETALL.
func (st *Store) GetSession(ctx context.Context, id string) (sessions.Session, error) {
	f, err := st.DB.HGetAll(ctx, st.key("s", id)).Result()
	if err != nil {
		return sessions.Session{}, fmt.Errorf("redis: get session: %w", err)
	}
	if len(f) == 0 {
		return sessions.Session{}, sessions.ErrNotFound
	}
	return sessionFrom(f), nil
}

// DeleteSession implements sessions.Store.
func (st *Store) DeleteSession(ctx context.Context, id, userID string) error {
	return deleted(st.run(ctx, "delete_session", []string{st.key("s", id)}, userID, st.prefix("l"), id).Int())
}

// DeleteSessionByToken implements sessions.Store.
func (st *Store) DeleteSessionByToken(ctx context.Context, id string, hash []byte) error {
	return deleted(st.run(ctx, "delete_session_by_token", []string{st.key("s", id)}, hash, st.prefix("l"), id).Int())
}

func deleted(n int, err error) error {
	if err != nil {
		return fmt.Errorf("redis: delete session: %w", err)
	}
	if n == 0 {
		return sessions.ErrNotFound
	}
	return nil
}

// ListSessions implements sessions.Store with one script over the user's list.
func (st *Store) ListSessions(ctx context.Context, username, userID string) ([]sessions.Session, error) {
	v, err := st.run(ctx, "list_sessions", []string{st.key("u", username), st.key("l", username)},
		userID, st.prefix("s")).Slice()
	if err != nil {
		return nil, fmt.Errorf("redis: list sessions: %w", err)
	}
	out := make([]sessions.Session, 0, len(v))
	for _, f := range v {
		out = append(out, sessionFrom(fields(f)))
	}
	return out, nil
}

// EndUserSessions implements sessions.Store with one script: the epoch moves
// and every listed session goes in the same atomic step.
func (st *Store) EndUserSessions(ctx context.Context, username, userID string) (int, error) {
	n, err := st.run(ctx, "end_user_sessions", []string{st.key("u", username), st.key("l", username)},
		userID, st.prefix("s")).Int()
	if err != nil {
		return 0, fmt.Errorf("redis: end sessions of %s: %w", userID, err)
	}
	if n < 0 {
		return 0, sessions.ErrNotFound
	}
	return n, nil
}

// ---- login attempts ----

// attemptsFrom reads HMGET n last.
func attemptsFrom(v []any) throttle.State {
	var s throttle.State
	if len(v) == 2 {
		n, _ := v[0].(string)
		last, _ := v[1].(string)
		f := map[string]string{"n": n, "last": last}
		s.Failures = int(num(f, "n"))
		if last != "" {
			s.LastFailure = msTime(f, "last")
		}
	}
	return s
}

// GetAttempts implements throttle.Store with one HMGET.
func (st *Store) GetAttempts(ctx context.Context, key string) (throttle.State, error) {
	v, err := st.DB.HMGet(ctx, st.key("a", key), "n", "last").Result()
	if err != nil {
		return throttle.State{}, fmt.Errorf("redis: get attempts: %w", err)
	}
	return attemptsFrom(v), nil
}

// RecordFailure implements throttle.Store with one script: an atomic
// increment; the record expires when it is to be forgotten.
func (st *Store) RecordFailure(ctx context.Context, key string, now, expires time.Time) (throttle.State, error) {
	v, err := st.run(ctx, "record_failure", []string{st.key("a", key)}, ms(now), ttl(expires, now)).Slice()
	if err != nil {
		return throttle.State{}, fmt.Errorf("redis: record failure: %w", err)
	}
	if len(v) != 2 {
		return throttle.State{}, errors.New("redis: record failure: malformed reply")
	}
	n, _ := v[0].(int64)
	last, _ := v[1].(string)
	return attemptsFrom([]any{strconv.FormatInt(n, 10), last}), nil
}

// ResetAttempts implements throttle.Store.
func (st *Store) ResetAttempts(ctx context.Context, key string) error {
	if err := st.DB.Del(ctx, st.key("a", key)).Err(); err != nil {
		return fmt.Errorf("redis: reset attempts: %w", err)
	}
	return nil
}

// ---- login ----

// GetLogin implements auth.LoginStore with one script: the user, its session
// list and the attempts under each of keys, read at one instant.
func (st *Store) GetLogin(ctx context.Context, username string, keys []string) (users.User, []throttle.State, error) {
	rkeys := []string{st.key("u", username), st.key("l", username)}
	for _, k := range keys {
		rkeys = append(rkeys, st.key("a", k))
	}
	v, err := st.run(ctx, "get_login", rkeys).Slice()
	if err != nil {
		return users.User{}, nil, fmt.Errorf("redis: get login: %w", err)
	}
	if len(v) != 3 {
		return users.User{}, nil, errors.New("redis: get login: malformed reply")
	}
	a, _ := v[2].([]any)
	if len(a) != len(keys) {
		return users.User{}, nil, fmt.Errorf("redis: get login: %d states for %d keys", len(a), len(keys))
	}
	states := make([]throttle.State, len(keys))
	for i := range a {
		pair, _ := a[i].([]any)
		states[i] = attemptsFrom(pair)
	}
	u, err := userFrom(username, v[:2])
	return u, states, err
}
