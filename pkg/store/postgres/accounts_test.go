package postgres_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/postgres"
	"github.com/rotor-auth/rotor/pkg/store/postgres/schema"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
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
