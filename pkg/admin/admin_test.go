package admin_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/admin"
	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/store/postgres"
	rstore "github.com/rotor-auth/rotor/pkg/store/redis"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const pw = "correct horse battery"

// world is a deployment on one store: the flows, and an Admin on the same
// store whose audit log is captured.
type world struct {
	svc   *auth.Service
	admin *admin.Admin
	log   *bytes.Buffer
	now   time.Time
}

type backend struct {
	name  string
	store func(t *testing.T) apifn.Store
}

var backends = []backend{
	{"memory", func(*testing.T) apifn.Store { return memory.New() }},
	{"dynamodb", func(t *testing.T) apifn.Store { st, _ := testenv.DynamoStore(t); return st }},
	{"postgres", func(t *testing.T) apifn.Store {
		return postgres.New(testenv.PostgresPool(t, testenv.PostgresSchema(t)))
	}},
	{"redis", func(t *testing.T) apifn.Store {
		return rstore.New(testenv.RedisClient(t, testenv.RedisURL(t)), testenv.RedisNamespace(t))
	}},
}

func newWorld(t *testing.T, st apifn.Store) *world {
	t.Helper()
	cfg := config.Default()
	w := &world{log: &bytes.Buffer{}, now: time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return w.now }
	w.svc = testapi.Service(t, cfg, testapi.Deps(t, cfg, st, discard()))
	w.svc.Now = clock
	w.admin = &admin.Admin{Store: st.(admin.Store), Caller: "arn:aws:iam::123456789012:user/ops", Log: slog.New(slog.NewJSONHandler(w.log, nil)), Now: clock}
	return w
}

func (w *world) signup(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := w.svc.Signup(context.Background(), n, pw); err != nil {
			t.Fatal(err)
		}
	}
}

func (w *world) login(t *testing.T, name string) auth.Pair {
	t.Helper()
	p, err := w.svc.Login(context.Background(), name, pw, "", auth.Client{IP: "198.51.100.9", UserAgent: "test/1.0"})
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return p
}

// refreshes reports whether the session of p can still refresh; the pair is
// updated so the next call presents the current token.
func (w *world) refreshes(t *testing.T, p *auth.Pair) bool {
	t.Helper()
	w.now = w.now.Add(time.Minute) // past any grace window
	np, err := w.svc.Refresh(context.Background(), p.RefreshToken, "")
	if err != nil {
		return false
	}
	*p = np
	return true
}

// events returns the captured log lines whose event is name.
func (w *world) events(t *testing.T, name string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(w.log.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line not JSON: %q", sc.Text())
		}
		if m["event"] == name {
			out = append(out, m)
		}
	}
	return out
}

func each(t *testing.T, f func(t *testing.T, w *world)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, newWorld(t, b.store(t))) })
	}
}

// TestRevokeUser: every session of the user dies at once, no other user's
// does, and the audit log names the caller, the count and each session.
func TestRevokeUser(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		w.signup(t, "alice", "bob")
		a1, a2, b1 := w.login(t, "alice"), w.login(t, "alice"), w.login(t, "bob")
		list, err := w.admin.Sessions(ctx, "Alice")
		if err != nil || len(list) != 2 {
			t.Fatalf("sessions of alice: %d (%v), want 2", len(list), err)
		}
		n, err := w.admin.RevokeUser(ctx, "alice")
		if err != nil || n != 2 {
			t.Fatalf("revoke alice: %d (%v), want 2", n, err)
		}
		if w.refreshes(t, &a1) || w.refreshes(t, &a2) {
			t.Fatal("a revoked session of alice still refreshes")
		}
		if !w.refreshes(t, &b1) {
			t.Fatal("bob's session died with alice's")
		}
		if list, _ := w.admin.Sessions(ctx, "alice"); len(list) != 0 {
			t.Fatalf("alice still lists %d sessions", len(list))
		}
		acts := w.events(t, "admin_action")
		if len(acts) != 1 || acts[0]["action"] != "sessions_revoke_user" || acts[0]["sessions"] != float64(2) || acts[0]["who"] != w.admin.Caller {
			t.Fatalf("audit events: %v", acts)
		}
		revoked := w.events(t, "session_revoked")
		if len(revoked) != 2 {
			t.Fatalf("session_revoked events: %v, want 2", revoked)
		}
		for _, e := range revoked {
			if e["reason"] != "admin_revoke_user" || (e["session_id"] != a1.SessionID && e["session_id"] != a2.SessionID) {
				t.Fatalf("session_revoked event %v", e)
			}
		}
		if _, err := w.admin.RevokeUser(ctx, "carol"); !errors.Is(err, admin.ErrNotFound) {
			t.Fatalf("revoke an unknown user: %v, want ErrNotFound", err)
		}
	})
}

// TestRevokeSession: exactly the named session dies.
func TestRevokeSession(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		w.signup(t, "alice", "bob")
		a1, a2, b1 := w.login(t, "alice"), w.login(t, "alice"), w.login(t, "bob")
		s, err := w.admin.RevokeSession(ctx, a1.SessionID)
		if err != nil || s.UserID != a1.UserID {
			t.Fatalf("revoke session: %+v, %v", s, err)
		}
		if w.refreshes(t, &a1) {
			t.Fatal("the revoked session still refreshes")
		}
		if !w.refreshes(t, &a2) || !w.refreshes(t, &b1) {
			t.Fatal("another session died with the revoked one")
		}
		if _, err := w.admin.RevokeSession(ctx, a1.SessionID); !errors.Is(err, admin.ErrNotFound) {
			t.Fatalf("revoke it again: %v, want ErrNotFound", err)
		}
		if _, err := w.admin.RevokeSession(ctx, "not a session id"); !errors.Is(err, admin.ErrNotFound) {
			t.Fatalf("revoke a malformed id: %v, want ErrNotFound", err)
		}
		if ev := w.events(t, "session_revoked"); len(ev) != 1 || ev[0]["session_id"] != a1.SessionID || ev[0]["reason"] != "admin_revoke_session" {
			t.Fatalf("session_revoked events: %v", ev)
		}
	})
}

// TestLock: a locked user cannot log in (the answer of a wrong password) nor
// refresh; others can; unlock lets the user log in again.
func TestLock(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		w.signup(t, "alice", "bob")
		a, b := w.login(t, "alice"), w.login(t, "bob")
		n, err := w.admin.Lock(ctx, "alice")
		if err != nil || n != 1 {
			t.Fatalf("lock: %d (%v), want 1 session ended", n, err)
		}
		if w.refreshes(t, &a) {
			t.Fatal("a locked user's session still refreshes")
		}
		_, errLocked := w.svc.Login(ctx, "alice", pw, "", auth.Client{})
		_, errWrong := w.svc.Login(ctx, "bob", "wrong password", "", auth.Client{})
		var locked, wrong *apierr.Error
		if !errors.As(errLocked, &locked) || !errors.As(errWrong, &wrong) || locked.Status != wrong.Status || locked.Code != wrong.Code || locked.Description != wrong.Description {
			t.Fatalf("login of a locked user: %v; wrong password: %v; want the same answer", errLocked, errWrong)
		}
		if !w.refreshes(t, &b) {
			t.Fatal("bob's session died with the lock of alice")
		}
		if err := w.admin.Unlock(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		w.login(t, "alice")
		if acts := w.events(t, "admin_action"); len(acts) != 2 || acts[0]["action"] != "user_lock" || acts[1]["action"] != "user_unlock" {
			t.Fatalf("audit events: %v", acts)
		}
		if err := w.admin.Unlock(ctx, "carol"); !errors.Is(err, admin.ErrNotFound) {
			t.Fatalf("unlock an unknown user: %v", err)
		}
	})
}

func discard() *slog.Logger { return slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)) }

// TestRevokeAll: every session of every user stops refreshing (and the strict
// check refuses it) after one revoke-all; a login after it is unaffected.
func TestRevokeAll(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		w.signup(t, "alice", "bob")
		a, b := w.login(t, "alice"), w.login(t, "bob")
		if _, err := w.admin.RevokeAll(ctx, w.now.Add(time.Hour)); !errors.Is(err, admin.ErrBadTime) {
			t.Fatalf("a watermark in the future: %v, want ErrBadTime", err)
		}
		w.now = w.now.Add(time.Second)
		wm, err := w.admin.RevokeAll(ctx, time.Time{})
		if err != nil || !wm.Equal(w.now) {
			t.Fatalf("revoke-all: %v, %v", wm, err)
		}
		strict := &sessions.Manager{Store: w.admin.Store}
		for _, p := range []*auth.Pair{&a, &b} {
			if err := strict.Check(ctx, p.SessionID, w.now); !errors.Is(err, sessions.ErrRevoked) {
				t.Fatalf("strict check after revoke-all: %v, want ErrRevoked", err)
			}
			if w.refreshes(t, p) {
				t.Fatal("a session created before revoke-all still refreshes")
			}
		}
		fresh := w.login(t, "alice")
		if !w.refreshes(t, &fresh) {
			t.Fatal("a session created after revoke-all does not refresh")
		}
		if err := strict.Check(ctx, fresh.SessionID, w.now); err != nil {
			t.Fatalf("strict check of a session after revoke-all: %v", err)
		}
		if acts := w.events(t, "admin_action"); len(acts) != 1 || acts[0]["action"] != "sessions_revoke_all" {
			t.Fatalf("audit: %v", acts)
		}
	})
}

// TestRevokeAllHoldsInsideGrace: after a revoke-all, neither the current
// refresh token sent again and again inside the grace window (the DynamoDB
// store writes the first refused rotation, so the next attempts meet a
// changed item) nor the token it replaced (a grace replay) gets a token.
func TestRevokeAllHoldsInsideGrace(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		w.signup(t, "alice")
		prev := w.login(t, "alice")
		cur := prev
		if !w.refreshes(t, &cur) {
			t.Fatal("a fresh session does not refresh")
		}
		w.now = w.now.Add(time.Second)
		if _, err := w.admin.RevokeAll(ctx, time.Time{}); err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			w.now = w.now.Add(time.Second) // inside the grace window
			if np, err := w.svc.Refresh(ctx, cur.RefreshToken, ""); err == nil {
				t.Fatalf("attempt %d with the current token after revoke-all: got %+v", i+1, np.SessionID)
			}
		}
		// Last: on a store that wrote a refused rotation, the replaced token
		// is reuse by now, which ends the session.
		if np, err := w.svc.Refresh(ctx, prev.RefreshToken, ""); err == nil {
			t.Fatalf("the replaced token after revoke-all: got %+v", np.SessionID)
		}
	})
}

// countingDB counts DynamoDB requests by operation.
type countingDB struct {
	dynamo.API
	calls map[string]int
}

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.calls["GetItem"]++
	return c.API.GetItem(ctx, in, o...)
}
func (c *countingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.calls["UpdateItem"]++
	return c.API.UpdateItem(ctx, in, o...)
}
func (c *countingDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.calls["DeleteItem"]++
	return c.API.DeleteItem(ctx, in, o...)
}
func (c *countingDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.calls["BatchWriteItem"]++
	return c.API.BatchWriteItem(ctx, in, o...)
}
func (c *countingDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.calls["BatchGetItem"]++
	return c.API.BatchGetItem(ctx, in, o...)
}
func (c *countingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.calls["TransactWriteItems"]++
	return c.API.TransactWriteItems(ctx, in, o...)
}

func (c *countingDB) total() int {
	n := 0
	for _, v := range c.calls {
		n += v
	}
	return n
}

// TestRevokeAllIsOneWrite on DynamoDB (moto): revoke-all over many sessions
// is one UpdateItem (and a wait of dynamo.WatermarkTTL, the functions'
// cache lifetime), and a refresh in a warm container costs one UpdateItem,
// however many sessions exist: the watermark is the container's cached one
// (the login read it), the owner's epoch needs no read.
func TestRevokeAllIsOneWrite(t *testing.T) {
	db := &countingDB{API: testenv.DynamoDB(t), calls: map[string]int{}}
	tables := testenv.DynamoTables(t, testenv.DynamoDB(t))
	st := dynamo.New(db, tables)
	// The store's own clock, moved only by revoke-all's wait.
	clock := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	var waited time.Duration
	st.Now = func() time.Time { return clock }
	st.Sleep = func(_ context.Context, d time.Duration) error { clock, waited = clock.Add(d), waited+d; return nil }
	w := newWorld(t, st)
	w.signup(t, "alice")
	var pairs []auth.Pair
	for range 5 {
		pairs = append(pairs, w.login(t, "alice"))
	}
	p := pairs[0]
	clear(db.calls)
	if !w.refreshes(t, &p) {
		t.Fatal("refresh before revoke-all failed")
	}
	pairs[0] = p
	if db.calls["UpdateItem"] != 1 || db.total() != 1 {
		t.Fatalf("a refresh made %v, want one UpdateItem", db.calls)
	}
	clear(db.calls)
	w.now = w.now.Add(time.Second)
	if _, err := w.admin.RevokeAll(context.Background(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if db.calls["UpdateItem"] != 1 || db.total() != 1 {
		t.Fatalf("revoke-all of 5 sessions made %v, want one UpdateItem", db.calls)
	}
	if waited < dynamo.WatermarkTTL {
		t.Fatalf("revoke-all returned after waiting %s; want WatermarkTTL (%s), the functions' cache lifetime", waited, dynamo.WatermarkTTL)
	}
	for i := range pairs {
		if w.refreshes(t, &pairs[i]) {
			t.Fatalf("session %d refreshes after revoke-all", i)
		}
	}
}

// lockDuringLogin is a store on which the user is locked right after a
// login has read the (still unlocked) record and before it starts a session.
type lockDuringLogin struct {
	*memory.Store
	lock func()
}

func (s *lockDuringLogin) ReserveLogin(ctx context.Context, name string, cs []throttle.Counter, now time.Time) (users.User, time.Time, throttle.Reservation, error) {
	u, w, r, err := s.Store.ReserveLogin(ctx, name, cs, now)
	if s.lock != nil {
		lock := s.lock
		s.lock = nil
		lock()
	}
	return u, w, r, err
}

// TestLockRacingLogin: a login that read the user before the lock, with
// the right password, still starts no session.
func TestLockRacingLogin(t *testing.T) {
	st := &lockDuringLogin{Store: memory.New()}
	w := newWorld(t, st)
	w.signup(t, "alice")
	ctx := context.Background()
	st.lock = func() {
		if _, err := w.admin.Lock(ctx, "alice"); err != nil {
			t.Error(err)
		}
	}
	if p, err := w.svc.Login(ctx, "alice", pw, "", auth.Client{}); err == nil {
		t.Fatalf("a login that raced the lock started session %s", p.SessionID)
	}
	if list, _ := st.ListSessions(ctx, "alice", mustUser(t, st, "alice").ID); len(list) != 0 {
		t.Fatalf("%d sessions after the lock", len(list))
	}
}

func mustUser(t *testing.T, st users.Store, name string) users.User {
	t.Helper()
	u, err := st.GetUser(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
