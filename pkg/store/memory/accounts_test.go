package memory_test

import (
	"testing"

	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

var _ auth.AccountStore = (*memory.Store)(nil)

func TestAccountsContract(t *testing.T) {
	storetest.RunAccounts(t, func(*testing.T) (storetest.AccountStore, storetest.Outbox) {
		st := memory.New()
		return st, st.Messages
	})
}
