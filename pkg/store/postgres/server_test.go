package postgres_test

import (
	"context"
	"fmt"
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

// TestRoundTrips holds the store to the design's budgets (see
// storetest.RoundTrips), counted at the wire in exec mode.
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
	storetest.RoundTrips(t, postgres.New(pool), func() int64 { return count.n.Swap(0) })
}

// TestAnsweredRefreshSurvivesKill9 kills a private server with SIGKILL
// right after a chain of answered refreshes, restarts it on the same
// directory, and finds the last answered rotation there: the token it handed
// out still refreshes.
func TestAnsweredRefreshSurvivesKill9(t *testing.T) {
	pg := testenv.PrivatePostgres(t)
	url := testenv.NewSchema(t, pg.URL())
	pool := testenv.PostgresPool(t, url)
	storetest.AnsweredRefreshSurvives(t, postgres.New(pool), func() storetest.Store {
		pg.Kill()
		pool.Close()
		if err := pg.Start(); err != nil {
			t.Fatal(err)
		}
		return postgres.New(testenv.PostgresPool(t, url))
	})
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

// TestAnsweredBatchedRefreshesSurviveKill9: rotations answered from one
// batch (one shared commit) are all there after the server is killed with
// SIGKILL right after the answers and restarted: each token handed out
// still refreshes. A batch is answered only after its commit.
func TestAnsweredBatchedRefreshesSurviveKill9(t *testing.T) {
	pg := testenv.PrivatePostgres(t)
	url := testenv.NewSchema(t, pg.URL())
	pool := testenv.PostgresPool(t, url)
	st := postgres.New(pool)
	g := newRotationGroup(t, st, pool)
	var tokens []string
	for i := range 6 {
		tokens = append(tokens, g.start(fmt.Sprintf("crash%d", i)).RefreshToken)
	}
	got, _ := g.rotateQueued(tokens, nil)
	if batches, _ := st.RotationBatches(); batches != 1 {
		t.Fatalf("%d batches, want 1", batches)
	}
	pg.Kill()
	pool.Close()
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	m := storetest.Manager(postgres.New(testenv.PostgresPool(t, url)), g.ring)
	for i, r := range got {
		if r.err != nil {
			t.Fatalf("rotation %d: %v", i, r.err)
		}
		again, err := m.Rotate(context.Background(), r.iss.RefreshToken, "", g.now.Add(time.Minute))
		if err != nil || again.Session.Rotations != 2 {
			t.Fatalf("after kill -9, rotation %d's token: %d rotations, %v; want it to refresh", i, again.Session.Rotations, err)
		}
	}
}
