package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/store/postgres"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newStore migrates a fresh schema on the test's private server and returns
// a store on a pool of connections to it; extra is appended to the URL.
func newStore(t *testing.T, extra string) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := testenv.PostgresPool(t, testenv.PostgresSchema(t)+extra)
	return postgres.New(pool), pool
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { st, _ := newStore(t, ""); return st })
}

// TestContractExecMode runs the contract with unnamed statements only
// (default_query_exec_mode=exec): what a connection through RDS Proxy uses so
// that prepared statements never pin it to one database connection.
func TestContractExecMode(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		st, _ := newStore(t, "&default_query_exec_mode=exec")
		return st
	})
}

func TestOutboxContract(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T) storetest.OutboxStore { st, _ := newStore(t, ""); return st })
}

// TestOutboxContractExecMode: the outbox with unnamed statements (RDS Proxy).
func TestOutboxContractExecMode(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T) storetest.OutboxStore {
		st, _ := newStore(t, "&default_query_exec_mode=exec")
		return st
	})
}
