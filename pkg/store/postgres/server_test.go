package postgres_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/postgres"
	"github.com/rotor-auth/rotor/pkg/store/postgres/schema"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

// statements counts what a pool sends: each query and each batch is one
// round trip in exec mode (unnamed statements: parse, bind and execute go
// out together).
type statements struct{ n atomic.Int64 }

func (c *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *statements) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *statements) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *statements) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// TestRoundTrips holds the store to the design's budgets, counted at the
// wire: a login's reads and its session insert are two round trips, a
// refresh one, a grace replay (the losing side of a race) one, a logout one.
func TestRoundTrips(t *testing.T) {
	ctx := testenv.Context(t)
	url := testenv.PostgresSchema(t) + "&default_query_exec_mode=exec"
	if err := schema.UpURL(ctx, url); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	var count statements
	cfg.ConnConfig.Tracer = &count
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := postgres.New(pool)
	ring, _ := mac.Generate(nil)
	m := storetest.Manager(st, ring)
	now := time.Now()

	count.n.Store(0)
	o := storetest.Owner(t, st, "alice") // CreateUser, then GetLogin
	if got := count.n.Swap(0); got != 2 {
		t.Fatalf("signup and login read: %d round trips, want 2", got)
	}
	iss, err := m.Start(ctx, o, sessions.Meta{}, now)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		run  func() error
	}{
		{"refresh", func() error { _, err := m.Rotate(ctx, iss.RefreshToken, "", now.Add(time.Second)); return err }},
		{"grace replay", func() error {
			r, err := m.Rotate(ctx, iss.RefreshToken, "", now.Add(2*time.Second))
			if err == nil && !r.Replayed {
				t.Fatal("not a replay")
			}
			iss = r
			return err
		}},
		{"logout", func() error { _, err := m.Revoke(ctx, iss.RefreshToken); return err }},
	}
	if got := count.n.Swap(0); got != 1 {
		t.Fatalf("session insert: %d round trips, want 1", got)
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := count.n.Swap(0); got != 1 {
			t.Fatalf("%s: %d round trips, want 1", s.name, got)
		}
	}
}

// TestAnsweredRefreshSurvivesKill9 kills a private server with SIGKILL
// right after a chain of answered refreshes, restarts it on the same
// directory, and finds the last answered rotation there: the token it handed
// out still refreshes.
func TestAnsweredRefreshSurvivesKill9(t *testing.T) {
	pg := testenv.PrivatePostgres(t)
	ctx := testenv.Context(t)
	url := testenv.NewSchema(t, pg.URL())
	pool := testenv.PostgresPool(t, url)
	st := postgres.New(pool)
	ring, _ := mac.Generate(nil)
	m := storetest.Manager(st, ring)
	now := time.Now()
	iss, err := m.Start(ctx, storetest.Owner(t, st, "crash"), sessions.Meta{}, now)
	if err != nil {
		t.Fatal(err)
	}
	const chain = 25
	for i := range chain {
		if iss, err = m.Rotate(ctx, iss.RefreshToken, "", now.Add(time.Duration(i+1)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	pg.Kill()
	pool.Close()
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	m = storetest.Manager(postgres.New(testenv.PostgresPool(t, url)), ring)
	s, err := m.Store.GetSession(ctx, iss.Session.ID)
	if err != nil || s.Rotations != chain {
		t.Fatalf("after kill -9 and restart: rotations %d, %v; want %d", s.Rotations, err, chain)
	}
	if _, err := m.Rotate(ctx, iss.RefreshToken, "", now.Add(time.Hour/2)); err != nil {
		t.Fatalf("the last answered refresh token after the crash: %v", err)
	}
}

// TestPurge: a login deletes a bounded batch of dead sessions of anyone, so
// dead rows never outnumber what logins remove; live ones stay.
func TestPurge(t *testing.T) {
	ctx := testenv.Context(t)
	st, pool := newStore(t, "")
	st.Purge = 3
	ring, _ := mac.Generate(nil)
	m := storetest.Manager(st, ring)
	now := time.Now()
	o := storetest.Owner(t, st, "old")
	for range 5 {
		if _, err := m.Start(ctx, o, sessions.Meta{}, now); err != nil {
			t.Fatal(err)
		}
	}
	live := storetest.Owner(t, st, "new")
	later := now.Add(2 * time.Hour) // past the old sessions' idle expiry
	count := func() (n int) {
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM sessions").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i, want := range []int{1 + 5 - 3, 2 + 5 - 5, 3} {
		if _, err := m.Start(ctx, live, sessions.Meta{}, later); err != nil {
			t.Fatal(err)
		}
		live = storetest.Owner(t, st, "new")
		if got := count(); got != want {
			t.Fatalf("after login %d: %d sessions stored, want %d", i+1, got, want)
		}
	}
}
