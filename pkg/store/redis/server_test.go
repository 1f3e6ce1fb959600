package redis_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/redis"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

// commands counts what a client sends: each command (EVALSHA included) is
// one round trip.
type commands struct{ n atomic.Int64 }

func (c *commands) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (c *commands) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *commands) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestRoundTrips holds the store to the design's budgets (see
// storetest.RoundTrips), counted at the wire: a refresh is one EVALSHA.
func TestRoundTrips(t *testing.T) {
	ctx := testenv.Context(t)
	st, c := newStore(t)
	var count commands
	c.AddHook(&count)
	if err := st.Load(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.RoundTrips(t, st, func() int64 { return count.n.Swap(0) })
}

// TestAnsweredRefreshSurvivesKill9 kills a private server with SIGKILL right
// after a chain of answered refreshes, restarts it on the same directory
// (the append-only file, fsynced on every write), and finds the last answered
// rotation there: the token it handed out still refreshes. The scripts are
// gone with the server; the first call sends its script again by itself.
func TestAnsweredRefreshSurvivesKill9(t *testing.T) {
	srv := testenv.PrivateRedis(t)
	st := redis.New(testenv.RedisClient(t, srv.URL()), "crash")
	storetest.AnsweredRefreshSurvives(t, st, func() storetest.Store {
		srv.Kill()
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		return st
	})
}

// TestSessionKeyExpiresWhenSessionDies: the session key carries a TTL that
// ends at the session's death (idle expiry, capped by the absolute one),
// moved by each rotation; the attempts key expires when forgotten.
func TestSessionKeyExpiresWhenSessionDies(t *testing.T) {
	ctx := testenv.Context(t)
	st, c := newStore(t)
	ring, _ := mac.Generate(nil)
	m := storetest.Manager(st, ring)
	m.MaxTTL = 90 * time.Minute
	now := time.Now()
	iss, err := m.Start(ctx, storetest.Owner(t, st, "ttl"), sessions.Meta{}, now)
	if err != nil {
		t.Fatal(err)
	}
	key := "{" + st.Namespace + "}:s:" + iss.Session.ID
	within := func(what string, got, want time.Duration) {
		t.Helper()
		if got > want || got < want-time.Minute {
			t.Fatalf("%s: TTL %v, want about %v", what, got, want)
		}
	}
	within("new session: the idle expiry", c.PTTL(ctx, key).Val(), time.Hour)
	if _, err := m.Rotate(ctx, iss.RefreshToken, "", now.Add(50*time.Minute)); err != nil {
		t.Fatal(err)
	}
	within("rotated session: the absolute expiry", c.PTTL(ctx, key).Val(), 40*time.Minute)
	if _, err := st.RecordFailure(ctx, "ttl", now, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	within("attempts", c.PTTL(ctx, "{"+st.Namespace+"}:a:ttl").Val(), 2*time.Hour)
}
