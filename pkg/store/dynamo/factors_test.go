package dynamo_test

import (
	"testing"

	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestFactorsContract(t *testing.T) {
	storetest.RunFactors(t, func(t *testing.T) (storetest.FactorStore, storetest.Outbox) {
		st := newStore(t)
		return st, waiting(t, st)
	})
}
