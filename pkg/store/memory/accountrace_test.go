package memory_test

import (
	"testing"

	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestAccountRaces(t *testing.T) {
	storetest.RunAccountRaces(t, func(*testing.T) (storetest.AccountStore, storetest.Outbox) {
		st := memory.New()
		return st, st.Messages
	})
}
