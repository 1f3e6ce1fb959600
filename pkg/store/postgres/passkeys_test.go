package postgres_test

import (
	"testing"

	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestPasskeysContract(t *testing.T) {
	storetest.RunPasskeys(t, func(t *testing.T) (storetest.PasskeyStore, storetest.Outbox) {
		st, _ := newStore(t, "")
		return st, waiting(t, st)
	})
}

// TestPasskeysContractExecMode: the passkeys with unnamed statements (RDS Proxy).
func TestPasskeysContractExecMode(t *testing.T) {
	storetest.RunPasskeys(t, func(t *testing.T) (storetest.PasskeyStore, storetest.Outbox) {
		st, _ := newStore(t, "&default_query_exec_mode=exec")
		return st, waiting(t, st)
	})
}
