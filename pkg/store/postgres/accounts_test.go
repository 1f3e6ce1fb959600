package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/postgres"
	"github.com/rotor-auth/rotor/pkg/store/postgres/schema"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
	"github.com/rotor-auth/rotor/pkg/users"
)

var _ auth.AccountStore = (*postgres.Store)(nil)

// waiting reads every message of st's outbox: none of the contract's is ever
// sent, so all of them wait.
func waiting(t *testing.T, st *postgres.Store) storetest.Outbox {
	return func() []outbox.Message {
		ms, err := st.DueMessages(testenv.Context(t), time.Now().Add(100*365*24*time.Hour), 0)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
}

func TestAccountsContract(t *testing.T) {
	storetest.RunAccounts(t, func(t *testing.T) (storetest.AccountStore, storetest.Outbox) {
		st, _ := newStore(t, "")
		return st, waiting(t, st)
	})
}

// TestAccountsContractExecMode runs the account contract with unnamed
// statements only, as through RDS Proxy: every parameter's type is spelled
// in the statements.
func TestAccountsContractExecMode(t *testing.T) {
	storetest.RunAccounts(t, func(t *testing.T) (storetest.AccountStore, storetest.Outbox) {
		st, _ := newStore(t, "&default_query_exec_mode=exec")
		return st, waiting(t, st)
	})
}

func TestAccountRaces(t *testing.T) {
	storetest.RunAccountRaces(t, func(t *testing.T) (storetest.AccountStore, storetest.Outbox) {
		st, _ := newStore(t, "")
		return st, waiting(t, st)
	})
}

// TestAccountRoundTrips: every account operation is one statement, counted
// at the wire in exec mode.
func TestAccountRoundTrips(t *testing.T) {
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
	storetest.AccountRoundTrips(t, postgres.New(pool), func() int64 { return count.n.Swap(0) }, storetest.OneRoundTripEach())
}

// TestTokenPurge: issuing a token deletes records a day past their expiry,
// and only those.
func TestTokenPurge(t *testing.T) {
	ctx := testenv.Context(t)
	st, pool := newStore(t, "")
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	u := users.User{ID: "usr_1", Username: "alice", PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	issue := func(at time.Time) onetime.Record {
		t.Helper()
		rec, err := onetime.New(onetime.PasswordReset, u.ID, u.Username, 0, "", at, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.IssueToken(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	old := issue(t0)
	recent := issue(t0.Add(24 * time.Hour))
	if _, err := st.GetToken(ctx, old.ID); err != nil {
		t.Fatalf("a record less than a day past its expiry was purged: %v", err)
	}
	issue(t0.Add(24*time.Hour + onetime.ResetTTL + time.Second))
	if _, err := st.GetToken(ctx, old.ID); !errors.Is(err, onetime.ErrNotFound) {
		t.Fatalf("a record a day past its expiry is still there: %v", err)
	}
	if _, err := st.GetToken(ctx, recent.ID); err != nil {
		t.Fatalf("a live record was purged: %v", err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM onetime_tokens").Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d records (%v), want 2", n, err)
	}
}
