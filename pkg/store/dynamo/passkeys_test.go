package dynamo_test

import (
	"testing"

	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

func TestPasskeysContract(t *testing.T) {
	storetest.RunPasskeys(t, func(t *testing.T) (storetest.PasskeyStore, storetest.Outbox) {
		st := newStore(t)
		return st, waiting(t, st)
	})
}
