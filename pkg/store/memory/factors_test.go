package memory_test

import (
	"testing"

	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestFactorsContract(t *testing.T) {
	storetest.RunFactors(t, func(*testing.T) (storetest.FactorStore, storetest.Outbox) {
		st := memory.New()
		return st, st.Messages
	})
}
