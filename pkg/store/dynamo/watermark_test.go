package dynamo_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/users"
)

// fakeClock is the one clock of a test's "containers" and its CLI.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var w0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func bytes32(t *testing.T) []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// world is one DynamoDB (moto) shared by stores that each stand for a warm
// Lambda container (or the CLI) with its own watermark cache, on one fake
// clock; sleeping (RevokeBefore's wait) moves that clock.
type world struct {
	t      *testing.T
	clock  *fakeClock
	tables dynamo.Tables
	db     dynamo.API
}

func newWorld(t *testing.T) *world {
	db := testenv.DynamoDB(t)
	return &world{t: t, clock: &fakeClock{t: w0}, tables: testenv.DynamoTables(t, db), db: db}
}

// container returns a store of its own (its own cache) and its call counter.
func (w *world) container() (*dynamo.Store, *counted) {
	c := &counted{API: w.db}
	st := dynamo.New(c, w.tables)
	st.Now = w.clock.Now
	st.Sleep = func(_ context.Context, d time.Duration) error { w.clock.Add(d); return nil }
	return st, c
}

// tokens is a session as its client holds it: the id and the current hash.
type tokens struct {
	id   string
	hash []byte
}

// login creates user name (if new) and a session of it, created now.
func (w *world) login(st *dynamo.Store, name string) tokens {
	w.t.Helper()
	ctx := context.Background()
	err := st.CreateUser(ctx, users.User{ID: "usr_" + name, Username: name, PasswordHash: "$argon2id$x", CreatedAt: w0, UpdatedAt: w0})
	if err != nil && !errors.Is(err, users.ErrTaken) {
		w.t.Fatal(err)
	}
	u, err := st.GetUser(ctx, name)
	if err != nil {
		w.t.Fatal(err)
	}
	now := w.clock.Now().Truncate(time.Millisecond)
	x := sessions.Session{
		ID: base64.RawURLEncoding.EncodeToString(bytes32(w.t)[:16]), UserID: u.ID, Username: name, Epoch: u.Epoch,
		TokenHash: bytes32(w.t), CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(time.Hour).Truncate(time.Second), AbsoluteExpiresAt: now.Add(24 * time.Hour).Truncate(time.Second),
	}
	if err := st.CreateSession(ctx, x, nil); err != nil {
		w.t.Fatal(err)
	}
	return tokens{x.ID, x.TokenHash}
}

// refresh rotates tk on st at the clock's time, updating tk on success.
func (w *world) refresh(st *dynamo.Store, tk *tokens) error {
	now := w.clock.Now().Truncate(time.Millisecond)
	next := bytes32(w.t)
	_, err := st.RotateSession(context.Background(), sessions.Rotation{
		SessionID: tk.id, PresentedHash: tk.hash, NewHash: next, Salt: bytes32(w.t),
		Now: now, ExpiresAt: now.Add(time.Hour).Truncate(time.Second),
	})
	if err == nil {
		tk.hash = next
	}
	return err
}

// TestRefreshIsOneCall counts the requests a refresh sends to DynamoDB
// (moto): a warm container's refresh is the rotation's UpdateItem alone,
// and so stays whatever the number of sessions; the watermark is read once
// per container per WatermarkTTL (the first refresh of a cold container,
// and the first after the TTL, make two calls).
func TestRefreshIsOneCall(t *testing.T) {
	w := newWorld(t)
	a, calls := w.container()
	var tks []tokens
	for i := range 20 {
		tks = append(tks, w.login(a, fmt.Sprint("u", i%3)))
	}
	// The first refresh of the container reads the watermark (a login's
	// read, ReserveLogin, would have too).
	if err := w.refresh(a, &tks[0]); err != nil {
		t.Fatal(err)
	}
	calls.n.Store(0)
	for i := range tks {
		if err := w.refresh(a, &tks[i]); err != nil {
			t.Fatal(err)
		}
		if got := calls.n.Swap(0); got != 1 {
			t.Fatalf("warm refresh %d: %d requests, want 1", i, got)
		}
	}
	c2, c2calls := w.container()
	if err := w.refresh(c2, &tks[0]); err != nil {
		t.Fatal(err)
	}
	if got := c2calls.n.Swap(0); got != 2 {
		t.Fatalf("a cold container's first refresh: %d requests, want 2 (the watermark, the rotation)", got)
	}
	if err := w.refresh(c2, &tks[1]); err != nil {
		t.Fatal(err)
	}
	if got := c2calls.n.Swap(0); got != 1 {
		t.Fatalf("its second refresh: %d requests, want 1", got)
	}
	w.clock.Add(dynamo.WatermarkTTL)
	if err := w.refresh(c2, &tks[2]); err != nil {
		t.Fatal(err)
	}
	if got := c2calls.n.Swap(0); got != 2 {
		t.Fatalf("a refresh once the cached watermark is WatermarkTTL old: %d requests, want 2 (it is read again)", got)
	}
	// The strict authorizer's read: the session alone while the watermark
	// is cached.
	if _, _, err := c2.GetSessionAndWatermark(context.Background(), tks[3].id); err != nil {
		t.Fatal(err)
	}
	if got := c2calls.n.Swap(0); got != 1 {
		t.Fatalf("a warm session check: %d requests, want 1", got)
	}
}

// TestRevokeAllReachesEveryContainer, as the holder of a session that an
// operator's revoke-all ends, refreshing through two warm containers whose
// caches hold the watermark from before it: container B read it just
// before the revoke-all's write. Once revoke-all (a third store, the CLI)
// returns, neither container rotates, replays or passes an older session,
// though neither was told. Fails if RevokeBefore does not wait out
// WatermarkTTL, or a container uses its cached watermark for longer.
func TestRevokeAllReachesEveryContainer(t *testing.T) {
	w := newWorld(t)
	a, _ := w.container()
	b, _ := w.container()
	cli, _ := w.container()
	tks := []tokens{w.login(a, "alice"), w.login(a, "bob"), w.login(b, "carol")}
	// A reads the watermark at w0+1s, B at w0+4s: both still hold it when
	// the revoke-all's write lands at w0+4.5s.
	w.clock.Add(time.Second)
	if err := w.refresh(a, &tks[0]); err != nil {
		t.Fatal(err)
	}
	w.clock.Add(3 * time.Second)
	if err := w.refresh(b, &tks[1]); err != nil {
		t.Fatal(err)
	}
	w.clock.Add(500 * time.Millisecond)
	old := tks[0] // a superseded token, for a grace replay
	if _, err := cli.RevokeBefore(context.Background(), w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := w.clock.Now().Sub(w0.Add(4500 * time.Millisecond)); got < dynamo.WatermarkTTL {
		t.Fatalf("revoke-all returned after %s; want at least WatermarkTTL (%s)", got, dynamo.WatermarkTTL)
	}
	for _, st := range []struct {
		name string
		st   *dynamo.Store
	}{{"A", a}, {"B", b}} {
		for i := range tks {
			tk := tks[i]
			if err := w.refresh(st.st, &tk); !errors.Is(err, sessions.ErrRevoked) {
				t.Fatalf("container %s, session %d after revoke-all returned: %v; want ErrRevoked", st.name, i, err)
			}
		}
		if err := w.refresh(st.st, &old); !errors.Is(err, sessions.ErrRevoked) {
			t.Fatalf("container %s, a replayed superseded token after revoke-all: %v; want ErrRevoked, not a conflict", st.name, err)
		}
		m := sessions.Manager{Store: st.st}
		if err := m.Check(context.Background(), tks[2].id, w.clock.Now()); !errors.Is(err, sessions.ErrRevoked) {
			t.Fatalf("container %s, the strict check after revoke-all: %v; want ErrRevoked", st.name, err)
		}
	}
	// A login after the revoke-all refreshes.
	w.clock.Add(time.Millisecond)
	fresh := w.login(b, "dave")
	if err := w.refresh(a, &fresh); err != nil {
		t.Fatalf("a session started after revoke-all: %v", err)
	}
}

// TestSlowRotationAfterRevokeAllIsRefused: a rotation whose call outlived
// its container's cached watermark (the request stalled; DynamoDB may apply
// it after a revoke-all returned) is not answered as a success from the
// stale watermark: the store reads it again and refuses the session.
func TestSlowRotationAfterRevokeAllIsRefused(t *testing.T) {
	w := newWorld(t)
	a, _ := w.container()
	cli, _ := w.container()
	tk := w.login(a, "alice")
	w.clock.Add(time.Second)
	if err := w.refresh(a, &tk); err != nil { // a holds the watermark
		t.Fatal(err)
	}
	// The next rotation's UpdateItem stalls: meanwhile revoke-all runs
	// and returns; then the write lands (a's condition used the stale
	// watermark) and its answer arrives.
	a.DB = &stall{API: a.DB, during: func() {
		if _, err := cli.RevokeBefore(context.Background(), w.clock.Now()); err != nil {
			t.Error(err)
		}
	}}
	if err := w.refresh(a, &tk); !errors.Is(err, sessions.ErrRevoked) {
		t.Fatalf("a rotation answered after revoke-all returned: %v; want ErrRevoked", err)
	}
}

// TestEpochMoveRacingLoginsLeavesNoOlderSession, as a thief holding a
// session of alice's while her password is changed, reset, her account
// locked or every session ended, with logins of her racing each move (on
// other containers): afterwards no session of an older epoch than hers
// exists, and the thief's session no longer rotates.
func TestEpochMoveRacingLoginsLeavesNoOlderSession(t *testing.T) {
	moves := []struct {
		name string
		move func(st *dynamo.Store, u users.User) error
	}{
		{"password change", func(st *dynamo.Store, u users.User) error {
			return st.SetPasswordHash(context.Background(), u.Username, u.ID, u.Epoch, "$argon2id$new", w0)
		}},
		{"lock", func(st *dynamo.Store, u users.User) error {
			return st.SetLocked(context.Background(), u.Username, u.ID, true, w0)
		}},
		{"end all", func(st *dynamo.Store, u users.User) error {
			_, err := st.EndUserSessions(context.Background(), u.Username, u.ID)
			return err
		}},
	}
	for _, m := range moves {
		t.Run(m.name, func(t *testing.T) {
			w := newWorld(t)
			mover, _ := w.container()
			thief := w.login(mover, "alice")
			var held []tokens
			for range 5 {
				held = append(held, w.login(mover, "alice"))
			}
			u, err := mover.GetUser(context.Background(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			// Logins that read the user before the move start their
			// sessions while it runs; refreshes of the held sessions too.
			var wg sync.WaitGroup
			var mu sync.Mutex
			var started []string
			for i := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st, _ := w.container()
					id := base64.RawURLEncoding.EncodeToString(bytes32(t)[:16])
					now := w0.Add(time.Second)
					x := sessions.Session{ID: id, UserID: u.ID, Username: u.Username, Epoch: u.Epoch, TokenHash: bytes32(t),
						CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour)}
					if err := st.CreateSession(context.Background(), x, nil); err == nil {
						mu.Lock()
						started = append(started, id)
						mu.Unlock()
					} else if !errors.Is(err, sessions.ErrStale) {
						t.Error(err)
					}
					if i < len(held) {
						tk := held[i]
						_ = w.refresh(st, &tk)
					}
				}()
			}
			if err := m.move(mover, u); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			after, err := mover.GetUser(context.Background(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, tk := range append(held, thief) {
				all = append(all, tk.id)
			}
			for _, id := range append(all, started...) {
				x, err := mover.GetSession(context.Background(), id)
				if errors.Is(err, sessions.ErrNotFound) {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if x.Epoch != after.Epoch {
					t.Fatalf("session %s of epoch %d outlived the move to epoch %d", id, x.Epoch, after.Epoch)
				}
			}
			other, _ := w.container()
			if err := w.refresh(other, &thief); err == nil {
				t.Fatal("the thief's session rotates after the move")
			}
		})
	}
}

// stall runs during before the first rotation's UpdateItem is sent: what
// happens while a request is on its way.
type stall struct {
	dynamo.API
	during func()
	once   sync.Once
}

func (s *stall) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if _, rotation := in.ExpressionAttributeValues[":presented"]; rotation {
		s.once.Do(s.during)
	}
	return s.API.UpdateItem(ctx, in, opts...)
}

// loginDuring starts a session (login) of the user right before the first
// epoch move's transaction is sent: after the move read the user's list.
type loginDuring struct {
	dynamo.API
	login func()
	once  sync.Once
}

func (l *loginDuring) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if u := in.TransactItems[0].Update; u != nil && strings.Contains(*u.UpdateExpression, "ADD epoch") {
		l.once.Do(l.login)
	}
	return l.API.TransactWriteItems(ctx, in, opts...)
}

// TestLoginBetweenReadAndEpochMove: a login whose session lands between an
// epoch move's read of the list and its transaction (it read the epoch
// before the move) is not left behind: the transaction sees the list
// changed and the move reads it again, ending that session too.
func TestLoginBetweenReadAndEpochMove(t *testing.T) {
	w := newWorld(t)
	a, _ := w.container()
	w.login(a, "alice")
	other, _ := w.container()
	var late tokens
	a.DB = &loginDuring{API: a.DB, login: func() { late = w.login(other, "alice") }}
	u, err := a.GetUser(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetPasswordHash(context.Background(), "alice", u.ID, u.Epoch, "$argon2id$new", w0); err != nil {
		t.Fatal(err)
	}
	if late.id == "" {
		t.Fatal("no login ran during the move")
	}
	if x, err := a.GetSession(context.Background(), late.id); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("the session of the login during the move: epoch %d, %v; want it ended", x.Epoch, err)
	}
	if err := w.refresh(other, &late); err == nil {
		t.Fatal("the session of the login during the move rotates")
	}
}

// TestSessionFromBeforeTheUpgrade, as a thief holding a session that an
// earlier version's failed end-all left behind (stored without
// epoch_guarded, its owner's epoch moved past it): the first refresh of
// such a session reads its owner, as every refresh did then, and refuses
// it (ErrSuperseded); a session of the current epoch is checked once,
// marked, and from then on refreshes in one call.
func TestSessionFromBeforeTheUpgrade(t *testing.T) {
	w := newWorld(t)
	a, calls := w.container()
	ctx := context.Background()
	legacy := func(name string) tokens {
		tk := w.login(a, name)
		// What an earlier version stored: no epoch_guarded.
		if _, err := w.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(w.tables.Sessions), Key: map[string]types.AttributeValue{"session_id": &types.AttributeValueMemberS{Value: tk.id}},
			UpdateExpression: aws.String("REMOVE epoch_guarded"),
		}); err != nil {
			t.Fatal(err)
		}
		return tk
	}
	thief, owner := legacy("alice"), legacy("bob")
	// An earlier version's end-all that moved alice's epoch and failed
	// before deleting: the epoch alone moves.
	if _, err := w.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(w.tables.Users), Key: map[string]types.AttributeValue{"username": &types.AttributeValueMemberS{Value: "alice"}},
		UpdateExpression: aws.String("ADD epoch :one"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.refresh(a, &thief); !errors.Is(err, sessions.ErrSuperseded) {
		t.Fatalf("a left-behind session from before the upgrade: %v; want ErrSuperseded", err)
	}
	if err := w.refresh(a, &owner); err != nil {
		t.Fatalf("a current session from before the upgrade: %v", err)
	}
	calls.n.Store(0)
	if err := w.refresh(a, &owner); err != nil {
		t.Fatal(err)
	}
	if got := calls.n.Load(); got != 1 {
		t.Fatalf("its next refresh: %d requests, want 1", got)
	}
}
