package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

var _ auth.AccountStore = (*dynamo.Store)(nil)

// waiting reads every message of st's outbox: none of the contract's is ever
// sent, so all of them wait.
func waiting(t *testing.T, st interface {
	DueMessages(ctx context.Context, now time.Time, limit int) ([]outbox.Message, error)
}) storetest.Outbox {
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
		st := newStore(t)
		return st, waiting(t, st)
	})
}

func TestAccountRaces(t *testing.T) {
	storetest.RunAccountRaces(t, func(t *testing.T) (storetest.AccountStore, storetest.Outbox) {
		st := newStore(t)
		return st, waiting(t, st)
	})
}
