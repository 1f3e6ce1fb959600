package postgres_test

import (
	"testing"

	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestFactorsContract(t *testing.T) {
	storetest.RunFactors(t, func(t *testing.T) (storetest.FactorStore, storetest.Outbox) {
		st, _ := newStore(t, "")
		return st, waiting(t, st)
	})
}

// TestFactorsContractExecMode: the factors with unnamed statements (RDS Proxy).
func TestFactorsContractExecMode(t *testing.T) {
	storetest.RunFactors(t, func(t *testing.T) (storetest.FactorStore, storetest.Outbox) {
		st, _ := newStore(t, "&default_query_exec_mode=exec")
		return st, waiting(t, st)
	})
}
