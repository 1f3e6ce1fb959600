package dynamo_test

import (
	"testing"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newStore creates fresh tables on moto_server for one test.
func newStore(t *testing.T) *dynamo.Store {
	st, _ := testenv.DynamoStore(t)
	return st
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return newStore(t) })
}

// TestContractSmallBatches runs the contract with batches of 2 keys, so
// every multi-call path (listing, ending all of a heavy user's sessions) is
// paged: reading only the first page would leave sessions alive.
func TestContractSmallBatches(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		st := newStore(t)
		st.BatchSize = 2
		return st
	})
}
