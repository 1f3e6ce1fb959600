package redis_test

import (
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/redis"
	"github.com/rotor-auth/rotor/pkg/store/storetest"
)

var _ auth.AccountStore = (*redis.Store)(nil)

// waiting reads every message of st's outbox: none of the contract's is ever
// sent, so all of them wait.
func waiting(t *testing.T, st *redis.Store) storetest.Outbox {
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
		st, _ := newStore(t)
		return st, waiting(t, st)
	})
}

// TestAccountsContractCluster runs the account contract through the cluster
// client: every key a script touches shares the namespace's slot.
func TestAccountsContractCluster(t *testing.T) {
	srv := testenv.PrivateRedisCluster(t)
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{"127.0.0.1:" + srv.Port}, Password: srv.Password})
	t.Cleanup(func() { c.Close() })
	storetest.RunAccounts(t, func(t *testing.T) (storetest.AccountStore, storetest.Outbox) {
		st := redis.New(c, testenv.RedisNamespace(t))
		return st, waiting(t, st)
	})
}

func TestAccountRaces(t *testing.T) {
	storetest.RunAccountRaces(t, func(t *testing.T) (storetest.AccountStore, storetest.Outbox) {
		st, _ := newStore(t)
		return st, waiting(t, st)
	})
}
