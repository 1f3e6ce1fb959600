package memory_test

import (
	"testing"

	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestPasskeysContract(t *testing.T) {
	storetest.RunPasskeys(t, func(*testing.T) (storetest.PasskeyStore, storetest.Outbox) {
		st := memory.New()
		return st, st.Messages
	})
}
