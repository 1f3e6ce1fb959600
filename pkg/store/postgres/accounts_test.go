package postgres_test

import (
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/postgres"
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
